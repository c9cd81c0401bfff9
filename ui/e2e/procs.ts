// Freezing and killing the processes under test (Linux): the suite's way to make an outage happen.
export function freeze(pid: number): void {
  process.kill(pid, "SIGSTOP");
}

export function thaw(pid: number): void {
  process.kill(pid, "SIGCONT");
}

export function kill(pid: number): void {
  process.kill(pid, "SIGKILL");
}
