/* errnames.h: errno -> "ENOENT" and "No such file or directory" (NULL if
 * not in the table). */
#ifndef NF_TRACE_ERRNAMES_H
#define NF_TRACE_ERRNAMES_H

const char *err_name(int e, const char **msg);

#endif
