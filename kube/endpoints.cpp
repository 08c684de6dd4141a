#include "kube/endpoints.h"

#include <yaml-cpp/yaml.h>

#include "base/error.h"

namespace netlab::kube {

EndpointSlice derive_endpoint_slice(const Service& svc, const std::vector<Pod>& pods) {
    if (svc.selector.empty())
        throw UsageError("Service " + svc.ns + "/" + svc.name +
                         " has no selector: the EndpointSlice controller makes no slice for it (write one by hand)");
    EndpointSlice e;
    e.where = svc.where;
    e.ns = svc.ns;
    e.name = svc.name + "-netlab";
    e.service_name = svc.name;
    e.address_type = "IPv4";
    for (auto& p : svc.ports) {
        EndpointPort ep;
        ep.name = p.name;
        ep.protocol = p.protocol;
        if (p.target_port.empty()) {
            ep.port = p.port;
        } else if (p.target_port.find_first_not_of("0123456789") == std::string::npos) {
            ep.port = std::stoi(p.target_port);
        } else {
            throw UsageError("Service " + svc.ns + "/" + svc.name + ": targetPort '" + p.target_port +
                             "' names a container port; netlab knows only the pods' addresses, so give the number");
        }
        e.ports.push_back(ep);
    }
    for (auto& pod : pods) {
        if (pod.ns != svc.ns || pod.ip.empty()) continue;
        bool selected = true;
        for (auto& [k, v] : svc.selector) {
            auto it = pod.labels.find(k);
            if (it == pod.labels.end() || it->second != v) selected = false;
        }
        if (!selected) continue;
        Endpoint ep;
        ep.addresses = {pod.ip};
        ep.ready = pod.ready && !pod.terminating;
        ep.serving = pod.ready;
        ep.terminating = pod.terminating;
        if (!pod.node_name.empty()) ep.node_name = pod.node_name;
        e.endpoints.push_back(ep);
    }
    return e;
}

std::string endpoint_slice_yaml(const EndpointSlice& s) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "discovery.k8s.io/v1";
    out << YAML::Key << "kind" << YAML::Value << "EndpointSlice";
    out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << s.name;
    out << YAML::Key << "namespace" << YAML::Value << s.ns;
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "endpointslice.kubernetes.io/managed-by" << YAML::Value << "netlab";
    out << YAML::Key << "kubernetes.io/service-name" << YAML::Value << s.service_name;
    out << YAML::EndMap << YAML::EndMap;
    out << YAML::Key << "addressType" << YAML::Value << s.address_type;
    out << YAML::Key << "endpoints" << YAML::Value << YAML::BeginSeq;
    for (auto& ep : s.endpoints) {
        out << YAML::BeginMap;
        out << YAML::Key << "addresses" << YAML::Value << YAML::Flow << ep.addresses;
        out << YAML::Key << "conditions" << YAML::Value << YAML::BeginMap;
        if (ep.ready) out << YAML::Key << "ready" << YAML::Value << *ep.ready;
        if (ep.serving) out << YAML::Key << "serving" << YAML::Value << *ep.serving;
        if (ep.terminating) out << YAML::Key << "terminating" << YAML::Value << *ep.terminating;
        out << YAML::EndMap;
        if (ep.node_name) out << YAML::Key << "nodeName" << YAML::Value << *ep.node_name;
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
    for (auto& p : s.ports) {
        out << YAML::BeginMap;
        // An unnamed port is name "" in a slice, and quoted so that it stays a string.
        if (p.name) out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << *p.name;
        if (p.port) out << YAML::Key << "port" << YAML::Value << *p.port;
        if (p.protocol) out << YAML::Key << "protocol" << YAML::Value << *p.protocol;
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace netlab::kube
