/*
 * ferry-test-xml-util.h: helpers shared by the xml/ test programs.
 */
#pragma once

#include "xml/ferry-domain-xml.h"

/* Loads a mapping from a GKeyFile group [map]:
 *   path=/src/a:/dst/a;/src/b:/dst/b   shared=/nfs;/gluster   network=a:b   bridge=br0:br1
 *   direct=eth0:eth1   src_address=10.0.0.1   dst_address=10.0.0.2   new_name=g2
 * A missing file is an empty mapping. */
FerryXmlMapping *ferry_test_load_mapping(const char *path, GError **error);

/* $FERRY_TEST_DATA/xml/<sub>, or the source dir when unset. */
char *ferry_test_xml_dir(const char *sub);

/* Sorted names of files in @dir ending in @suffix, without the suffix. */
GPtrArray *ferry_test_list_cases(const char *dir, const char *suffix);

/* Compares @actual with the file @path; with FERRY_TEST_REGENERATE=1 writes it instead. */
void ferry_test_compare_file(const char *path, const char *actual);
