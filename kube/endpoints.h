// What the EndpointSlice controller makes of a Service and the pods it selects, as a pure function:
// pods in (name, IP, labels, ready, node), the EndpointSlice out, and as YAML (yaml-cpp) that
// `netlab kube-proxy render` reads back. No lab, no kernel: the lab wiring that lists a lab's pods
// is elsewhere.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kube/manifest.h"

namespace netlab::kube {

struct Pod {
    std::string name;
    std::string ns = "default";
    std::string ip;  // "" while the pod has no address yet (the controller skips it)
    std::map<std::string, std::string> labels;
    bool ready = true;
    bool terminating = false;  // being deleted
    std::string node_name;     // "" = not scheduled on a named node
};

// The slice for `svc`: one endpoint per pod of its namespace whose labels match every selector
// entry (a Service without a selector gets no managed slice: UsageError), with conditions ready =
// pod ready and not terminating, serving = pod ready, terminating; one port per service port with
// the service port's name and protocol and its targetPort number (the port itself when unset). A
// named targetPort needs the pods' container ports, which a Pod here does not carry: UsageError.
// The slice is named "<service>-netlab" (the controller adds 5 random characters instead).
EndpointSlice derive_endpoint_slice(const Service& svc, const std::vector<Pod>& pods);

// The slice as a discovery.k8s.io/v1 EndpointSlice YAML document.
std::string endpoint_slice_yaml(const EndpointSlice& slice);

}  // namespace netlab::kube
