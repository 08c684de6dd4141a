// Kubernetes objects as kube-proxy sees them: `v1 Service` and `discovery.k8s.io/v1 EndpointSlice`,
// read from YAML files (several documents per file, or a `kind: List` as `kubectl get -o yaml`
// prints). Only the fields kube-proxy's iptables mode reads are kept; the others are ignored.
// Every mistake is a UsageError "file:line: message" (exit 2).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netlab::kube {

struct ServicePort {
    std::string name;              // "" when unnamed
    std::string protocol = "TCP";  // TCP, UDP or SCTP
    int port = 0;
    int node_port = 0;  // 0: none
    std::string target_port;  // as written: a number, a container port name, or "" (= port)
};

struct Service {
    std::string where;  // "file:line" of the object, for messages
    std::string ns = "default";
    std::string name;
    std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
    std::string cluster_ip;          // "None" for a headless service
    std::vector<ServicePort> ports;
    std::map<std::string, std::string> selector;
    std::vector<std::string> external_ips;
    std::vector<std::string> load_balancer_source_ranges;  // as written (kube-proxy trims spaces)
    std::vector<std::string> load_balancer_ingress_ips;    // status.loadBalancer.ingress[].ip in VIP mode
    std::string session_affinity = "None";                 // None or ClientIP
    int affinity_timeout = 10800;                          // sessionAffinityConfig.clientIP.timeoutSeconds
    std::string external_traffic_policy = "Cluster";       // Cluster or Local
    std::string internal_traffic_policy = "Cluster";       // Cluster or Local
    int health_check_node_port = 0;
};

struct Endpoint {
    std::vector<std::string> addresses;
    std::optional<bool> ready, serving, terminating;  // conditions; unset as in the API
    std::optional<std::string> node_name;
};

struct EndpointPort {
    std::optional<std::string> name;
    std::optional<int> port;
    std::optional<std::string> protocol;
};

struct EndpointSlice {
    std::string where;
    std::string ns = "default";
    std::string name;
    std::string service_name;  // label kubernetes.io/service-name
    std::string address_type;  // IPv4, IPv6, FQDN
    std::vector<Endpoint> endpoints;
    std::vector<EndpointPort> ports;
};

struct Manifests {
    std::vector<Service> services;
    std::vector<EndpointSlice> slices;
};

// Parses YAML text; `file` names it in messages. Appends to `into`.
void parse_manifests(const std::string& text, const std::string& file, Manifests& into);
// Reads and parses each file in order.
Manifests load_manifests(const std::vector<std::filesystem::path>& files);

}  // namespace netlab::kube
