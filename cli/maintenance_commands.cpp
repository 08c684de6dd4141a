// reset and doctor: the flags, and one call each into maintenance/ (ResetLab, Doctor), which decide
// and act.
#include <iostream>

#include "cli/cli.h"
#include "maintenance/doctor.h"
#include "maintenance/reset.h"

namespace netlab::cli {

void add_maintenance_commands(CommandTable& table) {
    table.push_back({"reset",
                     "remove everything the lab may have made, even when its journal is lost or corrupt (its marked "
                     "namespaces, pods, /etc/netns files, state); never what it did not make",
                     {},
                     [](Invocation& g) {
                         need_root("reset");
                         maintenance::ResetTarget target{g.names(), g.lab_dir(), g.self_exe(), g.tutorial};
                         return maintenance::ResetLab(g.registry(), target, std::cout).run();
                     }});
    table.push_back({"doctor",
                     "check privileges and kernel features (namespaces, bridge, veth, nf_tables, statistic, "
                     "br_netfilter), probing in a scratch namespace; says what to do about each one missing",
                     {},
                     [](Invocation&) { return maintenance::Doctor(std::cout).run(); }});
}

}  // namespace netlab::cli
