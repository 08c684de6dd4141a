// Reading Service and EndpointSlice objects with yaml-cpp. Every error names the file and the line
// of the node at fault (yaml-cpp marks are 0-based; messages are 1-based like editors).
#include "kube/manifest.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "base/did_you_mean.h"
#include "base/error.h"
#include "base/ipv4.h"

namespace netlab::kube {
namespace {

class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    std::string at(const YAML::Node& n) const {
        int line = n.Mark().line;
        return file_ + ":" + (line >= 0 ? std::to_string(line + 1) : std::string("?"));
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const { throw UsageError(at(n) + ": " + msg); }

    static std::string kind_of(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Map: return "a mapping";
            case YAML::NodeType::Sequence: return "a list";
            case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
            default: return "nothing";
        }
    }

    // The mapping `n` (the object at `path`), or a message.
    void need_map(const YAML::Node& n, const std::string& path) const {
        if (!n.IsMap()) fail(n, path + ": expected a mapping, got " + kind_of(n));
    }
    // obj[key] when present and not null; an invalid node otherwise.
    static std::optional<YAML::Node> field(const YAML::Node& obj, const std::string& key) {
        const YAML::Node& c = obj;
        YAML::Node v = c[key];
        if (!v.IsDefined() || v.IsNull()) return std::nullopt;
        return v;
    }
    YAML::Node required(const YAML::Node& obj, const std::string& key, const std::string& path) const {
        auto v = field(obj, key);
        if (!v) fail(obj, "missing field " + path + key);
        return *v;
    }
    std::string str(const YAML::Node& v, const std::string& path) const {
        if (!v.IsScalar()) fail(v, path + ": expected a string, got " + kind_of(v));
        return v.Scalar();
    }
    std::optional<std::string> opt_str(const YAML::Node& obj, const std::string& key, const std::string& path) const {
        auto v = field(obj, key);
        if (!v) return std::nullopt;
        return str(*v, path + key);
    }
    int integer(const YAML::Node& v, const std::string& path, long lo, long hi) const {
        // A quoted "80" is a string to the API server, so it is one here too.
        if (!v.IsScalar() || v.Tag() == "!") fail(v, path + ": expected an integer, got " + kind_of(v));
        const std::string& s = v.Scalar();
        long n = 0;
        bool ok = !s.empty() && s.size() < 10;
        for (char c : s) ok = ok && c >= '0' && c <= '9';
        if (ok) n = std::stol(s);
        if (!ok || n < lo || n > hi)
            fail(v, path + ": expected an integer " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                        kind_of(v));
        return static_cast<int>(n);
    }
    bool boolean(const YAML::Node& v, const std::string& path) const {
        if (v.IsScalar() && v.Tag() != "!") {
            if (v.Scalar() == "true") return true;
            if (v.Scalar() == "false") return false;
        }
        fail(v, path + ": expected true or false, got " + kind_of(v));
    }
    std::string one_of(const YAML::Node& v, const std::string& path, const std::vector<std::string>& allowed) const {
        std::string s = str(v, path);
        for (auto& a : allowed)
            if (s == a) return s;
        std::string list;
        for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(v, path + ": " + unknown("value", s, allowed) + "; one of " + list);
    }
    std::vector<std::string> strings(const YAML::Node& v, const std::string& path) const {
        if (!v.IsSequence()) fail(v, path + ": expected a list of strings, got " + kind_of(v));
        std::vector<std::string> out;
        for (size_t i = 0; i < v.size(); ++i) out.push_back(str(v[i], path + "[" + std::to_string(i) + "]"));
        return out;
    }
    void ipv4_or_v6(const YAML::Node& v, const std::string& path, const std::string& s) const {
        if (!parse_ipv4(s) && s.find(':') == std::string::npos)
            fail(v, path + ": '" + s + "' is not an IP address");
    }

    void metadata(const YAML::Node& obj, std::string& ns, std::string& name,
                  std::map<std::string, std::string>* labels) const {
        YAML::Node md = required(obj, "metadata", "");
        need_map(md, "metadata");
        name = str(required(md, "name", "metadata."), "metadata.name");
        if (auto n = opt_str(md, "namespace", "metadata.")) ns = *n;
        if (labels) {
            if (auto l = field(md, "labels")) {
                need_map(*l, "metadata.labels");
                for (auto it = l->begin(); it != l->end(); ++it)
                    (*labels)[it->first.Scalar()] = str(it->second, "metadata.labels." + it->first.Scalar());
            }
        }
    }

    Service service(const YAML::Node& obj) const {
        Service s;
        s.where = at(obj);
        metadata(obj, s.ns, s.name, nullptr);
        YAML::Node spec = required(obj, "spec", "");
        need_map(spec, "spec");
        if (auto t = field(spec, "type"))
            s.type = one_of(*t, "spec.type", {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"});
        if (s.type == "ExternalName") return s;  // kube-proxy makes no rules for it
        YAML::Node cip = required(spec, "clusterIP", "spec.");
        s.cluster_ip = str(cip, "spec.clusterIP");
        if (s.cluster_ip != "None" && s.cluster_ip != "") ipv4_or_v6(cip, "spec.clusterIP", s.cluster_ip);
        if (auto p = field(spec, "ports")) {
            if (!p->IsSequence()) fail(*p, "spec.ports: expected a list, got " + kind_of(*p));
            for (size_t i = 0; i < p->size(); ++i) {
                YAML::Node pn = (*p)[i];
                std::string path = "spec.ports[" + std::to_string(i) + "]";
                need_map(pn, path);
                ServicePort sp;
                if (auto n = opt_str(pn, "name", path + ".")) sp.name = *n;
                if (auto pr = field(pn, "protocol")) sp.protocol = one_of(*pr, path + ".protocol", {"TCP", "UDP", "SCTP"});
                sp.port = integer(required(pn, "port", path + "."), path + ".port", 1, 65535);
                if (auto np = field(pn, "nodePort")) sp.node_port = integer(*np, path + ".nodePort", 0, 65535);
                if (auto tp = field(pn, "targetPort")) {
                    if (!tp->IsScalar()) fail(*tp, path + ".targetPort: expected a port number or name, got " + kind_of(*tp));
                    sp.target_port = tp->Scalar();
                }
                s.ports.push_back(sp);
            }
        }
        if (auto sel = field(spec, "selector")) {
            need_map(*sel, "spec.selector");
            for (auto it = sel->begin(); it != sel->end(); ++it)
                s.selector[it->first.Scalar()] = str(it->second, "spec.selector." + it->first.Scalar());
        }
        if (auto e = field(spec, "externalIPs")) {
            s.external_ips = strings(*e, "spec.externalIPs");
            for (size_t i = 0; i < s.external_ips.size(); ++i) ipv4_or_v6((*e)[i], "spec.externalIPs", s.external_ips[i]);
        }
        if (auto r = field(spec, "loadBalancerSourceRanges")) {
            s.load_balancer_source_ranges = strings(*r, "spec.loadBalancerSourceRanges");
            for (size_t i = 0; i < s.load_balancer_source_ranges.size(); ++i) {
                std::string t = s.load_balancer_source_ranges[i];
                while (!t.empty() && t.front() == ' ') t.erase(0, 1);
                while (!t.empty() && t.back() == ' ') t.pop_back();
                if (!parse_ipv4_cidr(t, true) && t.find(':') == std::string::npos)
                    fail((*r)[i], "spec.loadBalancerSourceRanges: '" + t + "' is not a CIDR (a.b.c.d/n)");
            }
        }
        if (auto a = field(spec, "sessionAffinity")) s.session_affinity = one_of(*a, "spec.sessionAffinity", {"None", "ClientIP"});
        if (auto c = field(spec, "sessionAffinityConfig")) {
            need_map(*c, "spec.sessionAffinityConfig");
            if (auto ci = field(*c, "clientIP")) {
                need_map(*ci, "spec.sessionAffinityConfig.clientIP");
                if (auto t = field(*ci, "timeoutSeconds"))
                    s.affinity_timeout = integer(*t, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 1, 86400);
            }
        }
        if (auto e = field(spec, "externalTrafficPolicy"))
            s.external_traffic_policy = one_of(*e, "spec.externalTrafficPolicy", {"Cluster", "Local"});
        if (auto e = field(spec, "internalTrafficPolicy"))
            s.internal_traffic_policy = one_of(*e, "spec.internalTrafficPolicy", {"Cluster", "Local"});
        if (auto h = field(spec, "healthCheckNodePort"))
            s.health_check_node_port = integer(*h, "spec.healthCheckNodePort", 0, 65535);
        if (auto st = field(obj, "status")) {
            need_map(*st, "status");
            if (auto lb = field(*st, "loadBalancer")) {
                need_map(*lb, "status.loadBalancer");
                if (auto ing = field(*lb, "ingress")) {
                    if (!ing->IsSequence()) fail(*ing, "status.loadBalancer.ingress: expected a list, got " + kind_of(*ing));
                    for (size_t i = 0; i < ing->size(); ++i) {
                        YAML::Node in = (*ing)[i];
                        std::string path = "status.loadBalancer.ingress[" + std::to_string(i) + "]";
                        need_map(in, path);
                        auto ip = opt_str(in, "ip", path + ".");
                        std::string mode = "VIP";
                        if (auto m = field(in, "ipMode")) mode = one_of(*m, path + ".ipMode", {"VIP", "Proxy"});
                        if (!ip || ip->empty() || mode != "VIP") continue;  // hostname-only or proxy-mode LBs
                        ipv4_or_v6(required(in, "ip", path + "."), path + ".ip", *ip);
                        s.load_balancer_ingress_ips.push_back(*ip);
                    }
                }
            }
        }
        return s;
    }

    EndpointSlice slice(const YAML::Node& obj) const {
        EndpointSlice e;
        e.where = at(obj);
        std::map<std::string, std::string> labels;
        metadata(obj, e.ns, e.name, &labels);
        auto svc = labels.find("kubernetes.io/service-name");
        if (svc == labels.end())
            fail(obj, "EndpointSlice " + e.name + ": missing label kubernetes.io/service-name (kube-proxy ignores a slice without it)");
        e.service_name = svc->second;
        e.address_type = one_of(required(obj, "addressType", ""), "addressType", {"IPv4", "IPv6", "FQDN"});
        if (auto eps = field(obj, "endpoints")) {
            if (!eps->IsSequence()) fail(*eps, "endpoints: expected a list, got " + kind_of(*eps));
            for (size_t i = 0; i < eps->size(); ++i) {
                YAML::Node en = (*eps)[i];
                std::string path = "endpoints[" + std::to_string(i) + "]";
                need_map(en, path);
                Endpoint ep;
                YAML::Node addrs = required(en, "addresses", path + ".");
                ep.addresses = strings(addrs, path + ".addresses");
                if (ep.addresses.empty()) fail(addrs, path + ".addresses: at least one address is needed");
                if (e.address_type == "IPv4")
                    for (size_t k = 0; k < ep.addresses.size(); ++k)
                        if (!parse_ipv4(ep.addresses[k]))
                            fail(addrs[k], path + ".addresses: '" + ep.addresses[k] + "' is not an IPv4 address");
                if (auto c = field(en, "conditions")) {
                    need_map(*c, path + ".conditions");
                    if (auto v = field(*c, "ready")) ep.ready = boolean(*v, path + ".conditions.ready");
                    if (auto v = field(*c, "serving")) ep.serving = boolean(*v, path + ".conditions.serving");
                    if (auto v = field(*c, "terminating")) ep.terminating = boolean(*v, path + ".conditions.terminating");
                }
                ep.node_name = opt_str(en, "nodeName", path + ".");
                e.endpoints.push_back(ep);
            }
        }
        if (auto ps = field(obj, "ports")) {
            if (!ps->IsSequence()) fail(*ps, "ports: expected a list, got " + kind_of(*ps));
            for (size_t i = 0; i < ps->size(); ++i) {
                YAML::Node pn = (*ps)[i];
                std::string path = "ports[" + std::to_string(i) + "]";
                need_map(pn, path);
                EndpointPort p;
                p.name = opt_str(pn, "name", path + ".");
                if (auto v = field(pn, "port")) p.port = integer(*v, path + ".port", 1, 65535);
                if (auto v = field(pn, "protocol")) p.protocol = one_of(*v, path + ".protocol", {"TCP", "UDP", "SCTP"});
                e.ports.push_back(p);
            }
        }
        return e;
    }

    void object(const YAML::Node& obj, Manifests& into, bool in_list) const {
        need_map(obj, in_list ? "items[]" : "document");
        std::string kind = str(required(obj, "kind", ""), "kind");
        std::string api = str(required(obj, "apiVersion", ""), "apiVersion");
        static const std::vector<std::string> kinds{"Service", "EndpointSlice", "List"};
        auto want = [&](const std::string& version) {
            if (api != version)
                fail(obj, kind + " needs apiVersion " + version + ", not '" + api + "'");
        };
        if (kind == "Service") {
            want("v1");
            into.services.push_back(service(obj));
        } else if (kind == "EndpointSlice") {
            want("discovery.k8s.io/v1");
            into.slices.push_back(slice(obj));
        } else if (kind == "List" && !in_list) {
            want("v1");
            auto items = field(obj, "items");
            if (!items) return;
            if (!items->IsSequence()) fail(*items, "items: expected a list, got " + kind_of(*items));
            for (size_t i = 0; i < items->size(); ++i) object((*items)[i], into, true);
        } else {
            fail(obj, unknown("kind", kind, kinds) + "; netlab reads Service and EndpointSlice objects");
        }
    }

private:
    std::string file_;
};

}  // namespace

void parse_manifests(const std::string& text, const std::string& file, Manifests& into) {
    Reader r(file);
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
        throw UsageError(file + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
    }
    for (auto& d : docs) {
        if (d.IsNull() || !d.IsDefined()) continue;  // an empty document ("---" at the end)
        try {
            r.object(d, into, false);
        } catch (const YAML::Exception& e) {  // a shape the checks above did not foresee
            throw UsageError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
        }
    }
}

Manifests load_manifests(const std::vector<std::filesystem::path>& files) {
    Manifests m;
    for (auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) throw UsageError("read manifest " + f.string() + ": cannot open it");
        std::stringstream ss;
        ss << in.rdbuf();
        parse_manifests(ss.str(), f.string(), m);
    }
    return m;
}

}  // namespace netlab::kube
