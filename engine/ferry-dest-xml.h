/*
 * ferry-dest-xml.h: from a source domain XML and two inventory hosts, the disk plan and the
 * XML the destination will run.  `ferry xml` and `ferry migrate` share this one path.
 */
#pragma once

#include "engine/ferry-inventory.h"
#include "xml/ferry-domain-xml.h"

G_BEGIN_DECLS

typedef struct {
    FerryDomainXml *xml; /* the parsed source XML */
    GPtrArray *plan;     /* FerryDiskPlan*, borrowing disks from @xml */
    GPtrArray *files;    /* FerryFilePlan*: kernel, initrd, dtb, firmware, NVRAM, TPM state */
    char *dest_xml;      /* NULL when the rewrite failed (see @rewrite_error) */
    GError *rewrite_error;
} FerryDestXml;

void ferry_dest_xml_free(FerryDestXml *dest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FerryDestXml, ferry_dest_xml_free)

/* Fails only when the XML cannot be parsed or planned; a refused disk or a failed rewrite is in
 * the result, for the caller to report (ferry xml) or refuse (ferry migrate). */
FerryDestXml *ferry_dest_xml_build(const char *xml_text, const char *origin, const FerryHost *src,
                                   const FerryHost *dst, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* The plan must have no refused disk or file and the rewrite must have succeeded. */
gboolean ferry_dest_xml_check(const FerryDestXml *dest, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
