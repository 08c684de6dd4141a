#include "rules/serialize.h"

#include <sstream>

#include "rules/apply.h"
#include "rules/command.h"
#include "rules/render.h"
#include "rules/words.h"

namespace netlab::rules {

std::string serialize_rules(const Ruleset& rs) {
    std::string out;
    for (auto& t : rs.tables)
        for (auto& c : t.chains) {
            if (c.builtin) out += "-t " + t.name + " -P " + c.name + " " + c.policy + "\n";
            else out += "-t " + t.name + " -N " + c.name + "\n";
        }
    for (auto& t : rs.tables)
        for (auto& c : t.chains)
            for (auto& r : c.rules) out += "-t " + t.name + " " + render_rule(c.name, r) + "\n";
    return out;
}

Ruleset deserialize_rules(const std::string& text) {
    Ruleset rs;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        apply_command(rs, parse_iptables(split_words(line)));
    }
    return rs;
}

}  // namespace netlab::rules
