/**
 * CPU time on this machine from Linux's /proc (the benchmark's machines are Linux): the whole
 * machine's busy time, and a process tree's. The audience scenario reads both at the ends of a
 * window to tell its own processes' CPU (the stack, the watchers, Varnish) from everything else
 * running on the machine then, which the latencies share the cores with. Times in ms of CPU
 * (1,000 ms per second = one core busy); clock ticks are taken as 100 per second (Linux's
 * USER_HZ on every architecture it runs on today). Where /proc cannot be read, NaN.
 */
import { readdirSync, readFileSync } from "node:fs";

const MS_PER_TICK = 10;

/** Busy CPU of the whole machine, all cores summed (ms): /proc/stat's first line less idle and iowait. */
export function machineBusyMs(): number {
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return (
      ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * MS_PER_TICK
    );
  } catch {
    return Number.NaN;
  }
}

/** [pid, parent pid, utime + stime in ticks] of one /proc/<pid>/stat, or undefined when it is gone. */
function statOf(pid: string): [number, number, number] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and brackets: fields start after its last ")".
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(pid), Number(rest[1]), Number(rest[11]) + Number(rest[12])];
  } catch {
    return undefined;
  }
}

/** CPU used so far by process `root` and all its descendants that are still running (ms). */
export function treeCpuMs(root: number): number {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return Number.NaN;
  }
  const stats = pids.map(statOf).filter((s): s is [number, number, number] => s !== undefined);
  const children = new Map<number, number[]>();
  for (const [pid, parent] of stats) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const ticks = new Map(stats.map(([pid, , t]) => [pid, t]));
  let total = 0;
  for (const queue = [root]; queue.length > 0; ) {
    const pid = queue.pop() as number;
    total += ticks.get(pid) ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return total * MS_PER_TICK;
}
