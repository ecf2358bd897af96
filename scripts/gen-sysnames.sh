#!/bin/sh
# Regenerate hook/sysnames.h from the kernel headers.
h=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
{
	echo "/* sysnames.h: x86-64 syscall names, generated from <asm/unistd_64.h> by"
	echo " * scripts/gen-sysnames.sh. Index = number. */"
	echo "static const char *const sys_names[] = {"
	grep -E '^#define __NR_' $h | awk '{sub("__NR_","",$2); printf "\t[%s] = \"%s\",\n", $3, $2}'
	echo "};"
} > "$(dirname "$0")/../hook/sysnames.h"
