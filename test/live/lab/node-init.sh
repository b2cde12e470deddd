#!/usr/bin/env bash
# PID 1 of one live-lab namespace (test/live/lab.ts starts it). Started as
#   nsenter --net=/run/netns/NETNS unshare --mount --uts --ipc --pid --fork \
#       --mount-proc --propagation private node-init.sh NODEDIR NAME ROLE
# ROLE:
#   core    corosync, then pacemakerd (a full cluster member)
#   remote  pacemaker-remoted (path in $TBL_REMOTED: Debian's pacemaker-remote
#           Conflicts with pacemaker, so lab.ts unpacks the binary into a cache)
#   bare    no daemon: a namespace for an arbitrator or any test process
# NODEDIR (on the host file system) holds the node's state. It is bind-mounted
# over the system paths so that many nodes share one machine; /run and
# /dev/shm are private tmpfs (the Dummy agent keeps its state file in /run).
# libqb IPC uses abstract Unix sockets, which belong to the network namespace,
# so crm_ticket run in this node talks to this node's CIB manager only.
#
# Signals: SIGTERM/SIGINT = ordered stop (pacemakerd, then corosync; or
# pacemaker-remoted) and exit. SIGUSR1 on a remote node = become a core node:
# stop pacemaker-remoted, start corosync (its corosync.conf must already be
# in place) and pacemakerd — the lab's stand-in for `systemctl stop
# pacemaker_remote; systemctl start corosync pacemaker`, used as the node
# helper's start-cluster-stack command (`--start-command "kill -USR1 1"`). When this process exits the kernel kills
# everything left in its PID namespace, which is also how lab.ts crashes a
# node (SIGKILL of this process from the host).
#
# Progress goes to NODEDIR/log/init.log; NODEDIR/init.ready appears once the
# mounts are in place and the daemons have been launched (lab.ts waits for it
# before it enters the namespace).
set -uo pipefail
nodedir=${1:?usage: node-init.sh NODEDIR NAME ROLE}
name=${2:?usage: node-init.sh NODEDIR NAME ROLE}
role=${3:?usage: node-init.sh NODEDIR NAME ROLE}
mkdir -p "$nodedir/log"
exec >>"$nodedir/log/init.log" 2>&1 </dev/null
ts() { date +%s.%N; }
say() { echo "$(ts) init[$name]: $*"; }
say "start role=$role"
rm -f "$nodedir/init.ready"

case $role in core | remote | bare) ;; *) say "unknown role $role"; exit 2 ;; esac

hostname "$name"
mount -t tmpfs -o mode=0755 tmpfs /run || exit 1
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 1
mkdir -p /run/lock

if [[ $role != bare ]]; then
  mkdir -p /run/crm /run/pacemaker /run/resource-agents
  mkdir -p "$nodedir"/{etc-corosync,etc-pacemaker,lib-corosync,log/corosync,log/pacemaker}
  mkdir -p "$nodedir"/lib-pacemaker/{cib,pengine,blackbox,cores}
  chown -R hacluster:haclient "$nodedir/lib-pacemaker" "$nodedir/log/pacemaker"
  chmod 0750 "$nodedir"/lib-pacemaker/{cib,pengine,blackbox,cores}
  for m in etc-corosync:/etc/corosync etc-pacemaker:/etc/pacemaker \
           lib-corosync:/var/lib/corosync lib-pacemaker:/var/lib/pacemaker \
           log/corosync:/var/log/corosync log/pacemaker:/var/log/pacemaker; do
    mount --bind "$nodedir/${m%%:*}" "${m#*:}" || { say "bind mount $m failed"; exit 1; }
  done
  export PCMK_logfile=/var/log/pacemaker/pacemaker.log
  export PCMK_logfacility=none
  export PCMK_stderr=0
  export PCMK_debug=${PCMK_debug:-no}
fi

cs_pid='' pm_pid='' rm_pid=''

# stop_pid PID LABEL TENTHS: SIGTERM, then wait up to TENTHS/10 s for it to go.
stop_pid() {
  local pid=$1 label=$2 tenths=$3 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < tenths; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "$label stopped"; return 0; }
    sleep 0.1
  done
  say "$label did not stop in time"
}

shutdown() {
  say "shutdown requested"
  stop_pid "$rm_pid" pacemaker-remoted 100
  stop_pid "$pm_pid" pacemakerd 300
  stop_pid "$cs_pid" corosync 100
  say "exit"
  exit 0
}
trap shutdown TERM INT

start_core() {
  corosync -f >>"$nodedir/log/corosync.stdout" 2>&1 &
  cs_pid=$!
  say "corosync pid $cs_pid"
  # pacemakerd needs corosync's IPC; wait (bounded) until it answers
  local i
  for ((i = 0; i < 400; i++)); do
    corosync-cfgtool -s >/dev/null 2>&1 && break
    kill -0 "$cs_pid" 2>/dev/null || { say "corosync exited early"; return 1; }
    sleep 0.05
  done
  say "corosync answers"
  pacemakerd -f >>"$nodedir/log/pacemakerd.stdout" 2>&1 &
  pm_pid=$!
  say "pacemakerd pid $pm_pid"
}

start_remote() {
  local bin=${TBL_REMOTED:-}
  [[ -x $bin ]] || { say "TBL_REMOTED is not an executable: '$bin'"; return 1; }
  "$bin" >>"$nodedir/log/remoted.stdout" 2>&1 &
  rm_pid=$!
  say "pacemaker-remoted pid $rm_pid"
}

promote() {
  if [[ $role != remote ]]; then
    say "promote ignored (role=$role)"
    return 0
  fi
  say "promote requested"
  stop_pid "$rm_pid" pacemaker-remoted 100
  rm_pid=''
  role=core
  start_core || say "promote: corosync or pacemakerd did not start"
}
trap promote USR1

case $role in
  core) start_core || exit 1 ;;
  remote) start_remote || exit 1 ;;
  bare) ;;
esac
: >"$nodedir/init.ready"
say "ready"

# Stay alive as PID 1 (and reap orphans); a trapped signal interrupts `wait`.
while true; do
  sleep 5 &
  wait $!
done
