#!/usr/bin/env bash
# Runs a command and reports its peak anonymous (RssAnon) and file-backed (RssFile) resident
# memory, sampled every 20 ms from /proc/PID/status. Usage: benches/peak_memory.sh CMD [ARGS...]
"$@" &
pid=$!
peak_anon=0; peak_file=0
while kill -0 $pid 2>/dev/null; do
  if [ -r /proc/$pid/status ]; then
    a=$(awk '/RssAnon/{print $2}' /proc/$pid/status 2>/dev/null); f=$(awk '/RssFile/{print $2}' /proc/$pid/status 2>/dev/null)
    [ -n "$a" ] && [ "$a" -gt "$peak_anon" ] && peak_anon=$a
    [ -n "$f" ] && [ "$f" -gt "$peak_file" ] && peak_file=$f
  fi
  sleep 0.02
done
wait $pid; rc=$?
echo "exit $rc; peak RssAnon $((peak_anon/1024)) MiB; peak RssFile $((peak_file/1024)) MiB"
