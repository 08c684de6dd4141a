// `netlab graph`: a Topology (views/topology.h) drawn as a terminal tree or as Graphviz DOT. The
// renderers are pure; write_svg() runs Graphviz's dot on DOT text.
#pragma once

#include <filesystem>
#include <string>

#include "views/topology.h"

namespace netlab::views {

// A readable tree: one block per namespace (links, bridge ports under their bridge, addresses, veth
// peers, default routes, pods), then the namespaces not made yet, then each service with its endpoints.
std::string render_text(const Topology& t);

// Valid Graphviz: a cluster per namespace, an undirected edge per veth pair and per bridge port, and
// the service's edges to its endpoint chains labelled with their probabilities, on to the pods.
std::string render_dot(const Topology& t);

// Renders `dot_text` to an SVG file with Graphviz's `dot` (bounded to 60 s). Throws Error, with a hint
// to install graphviz when `dot` is missing.
void write_svg(const std::string& dot_text, const std::filesystem::path& out);

}  // namespace netlab::views
