// Puts every step kind of steps/ into a Registry: actions, probes and their undo handlers.
#pragma once

#include "lab/registry.h"

namespace netlab::steps {

void register_all(lab::Registry& reg);

// One per file, each registering its kinds.
void register_netns(lab::Registry& reg);
void register_bridge(lab::Registry& reg);
void register_veth(lab::Registry& reg);
void register_link(lab::Registry& reg);
void register_address(lab::Registry& reg);
void register_route(lab::Registry& reg);
void register_sysctl(lab::Registry& reg);
void register_resolv_conf(lab::Registry& reg);
void register_rules(lab::Registry& reg);
void register_bridge_port(lab::Registry& reg);
void register_pod(lab::Registry& reg);
void register_probes(lab::Registry& reg);
// Live quiz answers (steps/quiz_live.cpp), into Registry::live().
void register_quiz_live(lab::Registry& reg);

// Removes /etc/netns when netlab made it (it carries netlab's mark) and it is empty: what the last
// lab to leave it does, and what `netlab reset` does. True when it was removed.
bool release_etc_netns();

}  // namespace netlab::steps
