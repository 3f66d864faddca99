-- seed.sql -- one ACTIVE instance on compute host 'hostA'; an empty 'hostB' whose
-- hypervisor_hostname differs from its service host (as libvirt's FQDN node names do);
-- a 'hostC' too small for the instance (1024 MB of memory in placement).
-- Loaded as root after the schemas made by nova-manage / placement-manage.
-- Nova soft-deletes: a live row has deleted = 0. Timestamps are naive UTC.
SET @inst = 'a1a1a1a1-0000-4000-8000-000000000001';
SET @proj = '9d3b5a4c2f1e4d6a8b7c0e1f2a3b4c5d';
SET @user = '5e6f7a8b9c0d4e1f8a2b3c4d5e6f7a8b';
SET @now = UTC_TIMESTAMP();

-- nova_api: the API finds the cell of an instance and of a host through these.
INSERT INTO nova_api.flavors (created_at, name, id, memory_mb, vcpus, swap, vcpu_weight,
    flavorid, rxtx_factor, root_gb, ephemeral_gb, disabled, is_public)
VALUES (@now, 'm1.small', 1, 2048, 1, 0, 0, '1', 1.0, 20, 0, 0, 1);
INSERT INTO nova_api.host_mappings (created_at, cell_id, host)
SELECT @now, id, h.host FROM nova_api.cell_mappings,
    (SELECT 'hostA' AS host UNION SELECT 'hostB' UNION SELECT 'hostC') h WHERE name = 'cell1';
INSERT INTO nova_api.instance_mappings (created_at, instance_uuid, cell_id, project_id, user_id,
    queued_for_delete)
SELECT @now, @inst, id, @proj, @user, 0 FROM nova_api.cell_mappings WHERE name = 'cell1';
-- hostB sits in availability zone 'az-b'.
INSERT INTO nova_api.aggregates (created_at, id, uuid, name)
VALUES (@now, 1, 'a9a9a9a9-0000-4000-8000-000000000001', 'agg-b');
INSERT INTO nova_api.aggregate_hosts (created_at, host, aggregate_id) VALUES (@now, 'hostB', 1);
INSERT INTO nova_api.aggregate_metadata (created_at, aggregate_id, `key`, value)
VALUES (@now, 1, 'availability_zone', 'az-b');

-- nova (cell1). version 64 = SERVICE_VERSION of nova 26; nova-api refuses to start
-- when a nova-compute row is older than 61.
INSERT INTO nova.services (created_at, updated_at, host, `binary`, topic, report_count, disabled,
    deleted, last_seen_up, forced_down, version, uuid)
VALUES (@now, @now, 'hostA', 'nova-compute', 'compute', 1, 0, 0, @now, 0, 64,
        'b0b0b0b0-0000-4000-8000-00000000000a'),
       (@now, @now, 'hostB', 'nova-compute', 'compute', 1, 0, 0, @now, 0, 64,
        'b0b0b0b0-0000-4000-8000-00000000000b'),
       (@now, @now, 'hostC', 'nova-compute', 'compute', 1, 0, 0, @now, 0, 64,
        'b0b0b0b0-0000-4000-8000-00000000000c');

INSERT INTO nova.compute_nodes (created_at, updated_at, service_id, vcpus, memory_mb, local_gb,
    vcpus_used, memory_mb_used, local_gb_used, hypervisor_type, hypervisor_version, cpu_info,
    disk_available_least, free_ram_mb, free_disk_gb, current_workload, running_vms,
    hypervisor_hostname, deleted, host_ip, supported_instances, metrics, stats, host,
    ram_allocation_ratio, cpu_allocation_ratio, uuid, disk_allocation_ratio, mapped)
SELECT @now, @now, s.id, 16, n.mem, 500, 0, 512, 0, 'QEMU', 7002000,
       '{"arch": "x86_64", "model": "qemu64", "vendor": "AMD", "topology": {"cells": 1, "sockets": 1, "cores": 16, "threads": 1}, "features": []}',
       500, n.mem - 512, 500, 0, 0, n.node, 0, n.ip, '[["x86_64", "kvm", "hvm"]]', '[]', '{}',
       s.host, 1.0, 4.0, n.uuid, 1.0, 1
  FROM nova.services s JOIN
       (SELECT 'hostA' AS host, 'hostA' AS node, '192.0.2.10' AS ip, 32768 AS mem,
               'c0c0c0c0-0000-4000-8000-00000000000a' AS uuid
        UNION SELECT 'hostB', 'hostb.example.org', '192.0.2.11', 32768,
               'c0c0c0c0-0000-4000-8000-00000000000b'
        UNION SELECT 'hostC', 'hostc.example.org', '192.0.2.12', 1024,
               'c0c0c0c0-0000-4000-8000-00000000000c') n ON n.host = s.host;

INSERT INTO nova.instances (created_at, updated_at, user_id, project_id, image_ref, kernel_id,
    ramdisk_id, launch_index, power_state, vm_state, memory_mb, vcpus, hostname, host,
    reservation_id, launched_at, display_name, display_description, availability_zone, locked,
    launched_on, instance_type_id, uuid, root_device_name, config_drive, task_state, progress,
    auto_disk_config, shutdown_terminate, disable_terminate, root_gb, ephemeral_gb, node, deleted,
    cleaned, hidden)
VALUES (@now, @now, @user, @proj, '0e0e0e0e-0000-4000-8000-000000000001', '', '', 0, 1,
        'active', 2048, 1, 'vm1', 'hostA', 'r-seed0001', @now, 'vm1', '', 'nova', 0, 'hostA', 1,
        @inst, '/dev/vda', '', NULL, 0, 0, 0, 0, 20, 0, 'hostA', 0, 0, 0);

-- The server view embeds the flavor from here (nova.objects.Flavor 1.2 primitive).
INSERT INTO nova.instance_extra (created_at, updated_at, deleted, instance_uuid, pci_requests,
    flavor)
VALUES (@now, @now, 0, @inst, '[]',
   '{"cur": {"nova_object.name": "Flavor", "nova_object.namespace": "nova", "nova_object.version": "1.2", "nova_object.data": {"id": 1, "name": "m1.small", "memory_mb": 2048, "vcpus": 1, "root_gb": 20, "ephemeral_gb": 0, "flavorid": "1", "swap": 0, "rxtx_factor": 1.0, "vcpu_weight": 0, "disabled": false, "is_public": true, "extra_specs": {}, "description": null, "created_at": null, "updated_at": null, "deleted_at": null, "deleted": false}}, "old": null, "new": null}');
INSERT INTO nova.instance_info_caches (created_at, updated_at, network_info, instance_uuid,
    deleted)
VALUES (@now, @now, '[]', @inst, 0);

-- placement: provider uuid = compute_nodes.uuid, name = hypervisor_hostname.
INSERT INTO placement.projects (created_at, external_id) VALUES (@now, @proj);
INSERT INTO placement.users (created_at, external_id) VALUES (@now, @user);
INSERT INTO placement.resource_providers (created_at, updated_at, uuid, name, generation)
VALUES (@now, @now, 'c0c0c0c0-0000-4000-8000-00000000000a', 'hostA', 2),
       (@now, @now, 'c0c0c0c0-0000-4000-8000-00000000000b', 'hostb.example.org', 1),
       (@now, @now, 'c0c0c0c0-0000-4000-8000-00000000000c', 'hostc.example.org', 1);
UPDATE placement.resource_providers SET root_provider_id = id;

SET @VCPU = COALESCE((SELECT id FROM placement.resource_classes WHERE name = 'VCPU'), 0);
SET @MEM = COALESCE((SELECT id FROM placement.resource_classes WHERE name = 'MEMORY_MB'), 1);
SET @DISK = COALESCE((SELECT id FROM placement.resource_classes WHERE name = 'DISK_GB'), 2);
INSERT INTO placement.inventories (created_at, resource_provider_id, resource_class_id, total,
    reserved, min_unit, max_unit, step_size, allocation_ratio)
SELECT @now, rp.id, c.cls, IF(c.cls = @MEM, IF(rp.name = 'hostc.example.org', 1024, 32768),
                             IF(c.cls = @VCPU, 16, 500)),
       IF(c.cls = @MEM, 512, 0), 1, IF(c.cls = @MEM, 32768, IF(c.cls = @VCPU, 16, 500)), 1,
       IF(c.cls = @VCPU, 4.0, 1.0)
  FROM placement.resource_providers rp,
       (SELECT @VCPU AS cls UNION SELECT @MEM UNION SELECT @DISK) c;

INSERT INTO placement.consumers (created_at, updated_at, uuid, project_id, user_id, generation)
SELECT @now, @now, @inst, p.id, u.id, 1 FROM placement.projects p, placement.users u
 WHERE p.external_id = @proj AND u.external_id = @user;
INSERT INTO placement.allocations (created_at, resource_provider_id, consumer_id,
    resource_class_id, used)
SELECT @now, rp.id, @inst, c.cls, c.used FROM placement.resource_providers rp,
       (SELECT @VCPU AS cls, 1 AS used UNION SELECT @MEM, 2048 UNION SELECT @DISK, 20) c
 WHERE rp.name = 'hostA';
