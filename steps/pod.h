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
// SIGTERM, then SIGKILL after 2 s; a dead or recycled pid is left alone.
void stop_pod(int pid, const std::string& start);

}  // namespace netlab::steps
