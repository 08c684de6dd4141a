// Pod process helpers shared by the pod step, `netlab status` and `netlab reset`.
#pragma once

#include <string>
#include <vector>

namespace netlab::steps {

// The arguments after the netlab binary that start a pod: "pod --lab L --name N --port P".
std::vector<std::string> pod_args(const std::string& lab, const std::string& name, int port);
// True when PID runs and started at `start` (field 22 of /proc/PID/stat), i.e. is not recycled.
bool pod_alive(int pid, const std::string& start);
// Pids of `netlab pod --lab LAB --name NAME` processes.
std::vector<int> find_pods(const std::string& lab, const std::string& name);
// Pids of every `netlab pod --lab LAB ...` process, whatever its name (for `netlab reset`).
std::vector<int> find_lab_pods(const std::string& lab);
// Stops a pid that find_pods or find_lab_pods returned (its start time read now: a recycled pid is safe).
void stop_found_pod(int pid);
// SIGTERM, then SIGKILL after 2 s; a dead or recycled pid is left alone.
void stop_pod(int pid, const std::string& start);

}  // namespace netlab::steps
