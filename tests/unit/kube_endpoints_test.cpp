// The EndpointSlice derived from pods (what the EndpointSlice controller would make), emitted as
// YAML and read back by the manifest reader, then rendered.
#include <doctest/doctest.h>

#include "base/error.h"
#include "kube/chain_name.h"
#include "kube/endpoints.h"
#include "kube/manifest.h"
#include "kube/proxier.h"

using namespace netlab;
using namespace netlab::kube;

namespace {

// The article's Service, as the tutorial's manifest has it.
const char* app_service = R"(
apiVersion: v1
kind: Service
metadata:
  name: app-service
spec:
  clusterIP: 10.100.100.100
  selector:
    component: app
  ports:
  - port: 8080
    targetPort: 8080
)";

Service service(const std::string& yaml) {
    Manifests m;
    parse_manifests(yaml, "svc.yaml", m);
    REQUIRE(m.services.size() == 1);
    return m.services[0];
}

}  // namespace

TEST_CASE("pods selected by labels become endpoints; the YAML reads back and renders") {
    std::vector<Pod> pods = {
        {"dustin", "default", "10.0.0.11", {{"component", "app"}}, true, false, "netlab"},
        {"leah", "default", "10.0.0.12", {{"component", "app"}, {"tier", "x"}}, false, false, ""},
        {"other", "default", "10.0.0.13", {{"component", "db"}}, true, false, ""},
        {"elsewhere", "prod", "10.0.0.14", {{"component", "app"}}, true, false, ""},
        {"pending", "default", "", {{"component", "app"}}, false, false, ""},
        {"leaving", "default", "10.0.0.15", {{"component", "app"}}, true, true, ""},
    };
    EndpointSlice s = derive_endpoint_slice(service(app_service), pods);
    CHECK(s.name == "app-service-netlab");
    CHECK(s.service_name == "app-service");
    REQUIRE(s.endpoints.size() == 3);  // dustin, leah, leaving
    std::string yaml = endpoint_slice_yaml(s);
    CAPTURE(yaml);

    Manifests back;
    parse_manifests(yaml, "derived.yaml", back);
    REQUIRE(back.slices.size() == 1);
    const auto& b = back.slices[0];
    CHECK(b.service_name == "app-service");
    CHECK(b.address_type == "IPv4");
    REQUIRE(b.endpoints.size() == 3);
    CHECK(b.endpoints[0].addresses == std::vector<std::string>{"10.0.0.11"});
    CHECK(b.endpoints[0].ready == true);
    CHECK(b.endpoints[0].node_name == std::optional<std::string>("netlab"));
    CHECK(b.endpoints[1].ready == false);
    CHECK(b.endpoints[1].serving == false);
    CHECK_FALSE(b.endpoints[1].node_name);
    CHECK(b.endpoints[2].ready == false);
    CHECK(b.endpoints[2].serving == true);
    CHECK(b.endpoints[2].terminating == true);
    REQUIRE(b.ports.size() == 1);
    CHECK(b.ports[0].name == std::optional<std::string>(""));
    CHECK(b.ports[0].port == 8080);
    CHECK(b.ports[0].protocol == std::optional<std::string>("TCP"));

    // Rendered with the Service: only the ready pod is an endpoint (the terminating one is used only
    // when no endpoint is ready).
    back.services.push_back(service(app_service));
    std::string out = render_restore(back, ProxierConfig{});
    CHECK(out.find("-j DNAT --to-destination 10.0.0.11:8080") != std::string::npos);
    CHECK(out.find("10.0.0.12") == std::string::npos);
    CHECK(out.find("10.0.0.15") == std::string::npos);
    CHECK(out.find(endpoint_chain("default/app-service", "tcp", "10.0.0.11:8080")) != std::string::npos);
}

TEST_CASE("named ports, target ports and protocols carry over; what cannot be derived is a usage error") {
    Service s = service(R"(
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 5353}
)");
    auto e = derive_endpoint_slice(s, {{"coredns-1", "kube-system", "10.0.3.3", {{"k8s-app", "kube-dns"}}}});
    REQUIRE(e.ports.size() == 2);
    CHECK(e.ports[0].port == 53);
    CHECK(e.ports[0].protocol == std::optional<std::string>("UDP"));
    CHECK(e.ports[1].name == std::optional<std::string>("dns-tcp"));
    CHECK(e.ports[1].port == 5353);
    CHECK(e.ns == "kube-system");

    Service named = service("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  clusterIP: 10.0.0.1\n"
                            "  selector: {a: b}\n  ports: [{port: 80, targetPort: http}]\n");
    CHECK_THROWS_AS(derive_endpoint_slice(named, {}), UsageError);
    Service none = service("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  clusterIP: 10.0.0.1\n"
                           "  ports: [{port: 80}]\n");
    CHECK_THROWS_AS(derive_endpoint_slice(none, {}), UsageError);
}
