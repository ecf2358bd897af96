#!/usr/bin/env bash
# scripts/setup.sh: make this machine ready to build, test and run netfuse.
#
# Idempotent; safe to run again. Needs root for package installs and the
# kernel settings; without root it reports what it could not do and goes on.
# Called by `make test` and `make demo`.
#
# What it does:
#   1. apt-get installs the Debian packages netfuse needs, if missing.
#   2. sysctl vm.mmap_min_addr=0 (the hook maps its trampoline at address 0).
#   3. mounts hugetlbfs on /dev/hugepages and reserves 2 MB hugepages
#      (NETFUSE_HUGEPAGES, default 512 = 1 GiB); DPDK falls back to --no-huge
#      without them.
#   4. only with --persist: keeps 2. and 3. across reboots
#      (/etc/sysctl.d/60-netfuse.conf; a hugetlbfs line in /etc/fstab unless
#      systemd already mounts /dev/hugepages).
set -u
PERSIST=0
for a in "$@"; do
	case "$a" in
	--persist) PERSIST=1 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown argument '$a' (--persist, --help)" >&2; exit 2 ;;
	esac
done

NEED_PKGS=(
	build-essential pkg-config clang-14 binutils-dev libnuma-dev libcmocka-dev
	libdpdk-dev dpdk libelf-dev libpcap-dev
	iproute2 ethtool python3 coreutils util-linux iputils-ping
	memcached libmemcached-tools gnuplot-nox python3-scapy
	redis-server redis-tools iperf3 hping3 tcpdump strace tshark
	socat nginx-light wrk liblwip-dev
)
NR_HUGE=${NETFUSE_HUGEPAGES:-512}
failed=0

say()  { echo "setup: $*"; }
fail() { echo "setup: FAILED: $*" >&2; failed=1; }

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

# 1. packages
missing=()
for p in "${NEED_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	say "packages: all ${#NEED_PKGS[@]} present"
elif [ $is_root = 0 ]; then
	fail "packages missing (${missing[*]}); run as root: apt-get install ${missing[*]}"
else
	say "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive  # tshark asks about capture rights
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/netfuse-setup-apt.log 2>&1; then
		say "apt-get install failed; running apt-get update and retrying"
		apt-get update -q >>/tmp/netfuse-setup-apt.log 2>&1
		apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/netfuse-setup-apt.log 2>&1 ||
			fail "apt-get install ${missing[*]} (log: /tmp/netfuse-setup-apt.log)"
	fi
fi

# 2. address 0 for the trampoline
cur=$(sysctl -n vm.mmap_min_addr 2>/dev/null || echo "?")
if [ "$cur" = 0 ]; then
	say "vm.mmap_min_addr: already 0"
elif [ $is_root = 1 ] && sysctl -q -w vm.mmap_min_addr=0 >/dev/null 2>&1; then
	say "vm.mmap_min_addr: set 0 (was $cur)"
else
	fail "cannot set vm.mmap_min_addr=0 (is $cur); run as root: sysctl -w vm.mmap_min_addr=0"
fi

# 3. hugepages
if [ $is_root = 1 ]; then
	mkdir -p /dev/hugepages
	if grep -qs ' /dev/hugepages hugetlbfs' /proc/mounts; then
		say "hugetlbfs: already mounted on /dev/hugepages"
	elif mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null; then
		say "hugetlbfs: mounted on /dev/hugepages"
	else
		fail "mount -t hugetlbfs nodev /dev/hugepages (DPDK will run with --no-huge)"
	fi
	f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	have=$(cat $f 2>/dev/null || echo 0)
	if [ "$have" -ge "$NR_HUGE" ]; then
		say "hugepages: $have x 2 MB reserved"
	else
		echo "$NR_HUGE" >$f 2>/dev/null
		have=$(cat $f 2>/dev/null || echo 0)
		if [ "$have" -ge "$NR_HUGE" ]; then
			say "hugepages: reserved $have x 2 MB"
		else
			fail "reserved only $have of $NR_HUGE 2 MB hugepages (DPDK falls back to --no-huge)"
		fi
	fi
else
	fail "not root: hugepages not reserved (DPDK falls back to --no-huge)"
fi

# 4. across reboots, when asked
if [ $PERSIST = 1 ]; then
	if [ $is_root = 1 ]; then
		printf '# netfuse (scripts/setup.sh --persist)\nvm.mmap_min_addr = 0\nvm.nr_hugepages = %s\n' \
			"$NR_HUGE" >/etc/sysctl.d/60-netfuse.conf &&
			say "persist: /etc/sysctl.d/60-netfuse.conf" ||
			fail "cannot write /etc/sysctl.d/60-netfuse.conf"
		if grep -qs hugetlbfs /etc/fstab; then
			say "persist: /etc/fstab already mounts hugetlbfs"
		elif [ -e /lib/systemd/system/dev-hugepages.mount ]; then
			say "persist: systemd mounts /dev/hugepages (dev-hugepages.mount)"
		elif echo "nodev /dev/hugepages hugetlbfs defaults 0 0" >>/etc/fstab; then
			say "persist: hugetlbfs added to /etc/fstab"
		else
			fail "cannot add hugetlbfs to /etc/fstab"
		fi
	else
		fail "not root: --persist needs root"
	fi
fi

if [ $failed = 0 ]; then say "done, all ok"; else say "done, with failures above"; fi
exit $failed
