#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for tests and CI: munged + slurmctld + slurmd on
# localhost, every file (config, key, spool, state, logs, sockets, pid files) inside one directory,
# private ports, no systemd, no cgroups, no accounting database.
#
#   scripts/slurm-cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`; waits until the node is idle
#   scripts/slurm-cluster.sh stop DIR    # cancels every job, shuts the daemons down, stops munged
#
# `stop` ends only what this cluster started, by the PIDs in DIR (pid files, and job processes
# whose working directory or slurmstepd whose spool is under DIR), never by process name. It is
# safe to call twice and on a half-started cluster.
set -euo pipefail
export PATH="/usr/sbin:/sbin:$PATH"

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"
sock="$dir/munge/munge.socket"

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

pid_of() { [ -f "$1" ] && cat "$1" 2>/dev/null || true; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# PIDs of processes whose working directory is under DIR (job scripts run with --chdir inside
# it, slurmstepd in the spool); this shell excluded.
pids_under_dir() {
  local p cwd keep=" " a=$$
  # This shell and its callers (a test runner whose cwd happens to be under DIR) are kept.
  while [ -n "$a" ] && [ "$a" != 0 ]; do
    keep="$keep$a "
    a=$(awk '{print $4}' "/proc/$a/stat" 2>/dev/null || true)
  done
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ "$keep" == *" $p "* ]] && continue
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null || true)
    if [[ "$cwd" == "$dir" || "$cwd" == "$dir"/* ]]; then echo "$p"; continue; fi

  done
}

start() {
  command -v slurmctld >/dev/null || { echo "slurmctld not found (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 3; }
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chmod 755 "$dir/munge"
  local user
  user=$(id -un)
  if [ ! -f "$dir/munge/munge.key" ]; then
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
  fi
  munged --socket="$sock" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" --force
  local node_line
  node_line=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/')
  cat >"$conf" <<EOF
ClusterName=ltbench
SlurmctldHost=localhost
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
SlurmUser=$user
SlurmdUser=$user
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
EnforcePartLimits=ALL
SchedulerParameters=batch_sched_delay=0
MinJobAge=600
# Without it a job asks for the node's whole memory and tasks never share the node.
DefMemPerCPU=1000
KillWait=30
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MpiDefault=none
ReturnToService=2
$node_line
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$conf"
  slurmctld -f "$conf"
  slurmd -f "$conf" -N localhost
  # Ready when the node reports idle (the first scheduling pass follows within seconds).
  for _ in $(seq 1 100); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -q '^idle'; then
      echo "export SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm cluster in $dir did not come up; see $dir/log/" >&2
  exit 1
}

stop() {
  export SLURM_CONF="$conf"
  local ctld slurmd_pid munged_pid p
  ctld=$(pid_of "$dir/slurmctld.pid")
  slurmd_pid=$(pid_of "$dir/slurmd.pid")
  munged_pid=$(pid_of "$dir/munge/munged.pid")
  # Jobs first: without cgroups, shutting the daemons down leaves running jobs alive.
  if [ -f "$conf" ] && alive "$ctld"; then
    scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -z "$(squeue -h -t running,completing,configuring 2>/dev/null)" ] && break
      sleep 0.2
    done
    scontrol shutdown 2>/dev/null || true
  fi
  for _ in $(seq 1 50); do
    alive "$ctld" || alive "$slurmd_pid" || break
    sleep 0.2
  done
  for p in $ctld $slurmd_pid; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  # Leftover job processes and slurmstepd: by working directory / spool path, never by name.
  for p in $(pids_under_dir); do kill -KILL "$p" 2>/dev/null || true; done
  if alive "$munged_pid"; then
    munged --stop --socket="$sock" 2>/dev/null || kill -TERM "$munged_pid" 2>/dev/null || true
    for _ in $(seq 1 25); do alive "$munged_pid" || break; sleep 0.2; done
    alive "$munged_pid" && kill -KILL "$munged_pid" 2>/dev/null || true
  fi
  return 0
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
