/* schema.h: the name and version of the results document, shared by its writer
 * (output/json.c, through output.h) and its reader (results.c). */
#ifndef CLREPRO_SCHEMA_H
#define CLREPRO_SCHEMA_H

#define CLR_SCHEMA_NAME "clrepro.results"
#define CLR_SCHEMA_VERSION 2

#endif
