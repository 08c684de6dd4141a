// Step kind "iptables": iptables commands as the article writes them, applied to the lab host's
// tables. The whole resulting ruleset is computed as data and programmed in ONE atomic netlink
// batch, in iptables-nft's own layout (so `iptables -t nat -S` inside the lab host lists the
// article's rules). The prior ruleset (read back from the kernel) is journaled; undo reprograms it.
#include <sstream>

#include "base/error.h"
#include "netutil/netns.h"
#include "netutil/nft.h"
#include "rules/apply.h"
#include "rules/builtin.h"
#include "rules/command.h"
#include "rules/render.h"
#include "rules/serialize.h"
#include "rules/words.h"
#include "steps/common.h"
#include "steps/register.h"
#include "steps/rules.h"

namespace netlab::steps {

namespace {

using rules::Ruleset;

std::string strip_prefix(std::string line) {
    // Accept "iptables ...", "sudo iptables ..." as well as bare arguments.
    for (const char* p : {"sudo ", "iptables-nft ", "iptables "}) {
        while (line.rfind(p, 0) == 0) line = line.substr(std::string(p).size());
    }
    return line;
}

class RulesAction : public lab::Action {
public:
    explicit RulesAction(const Params& p) : ns_(ns_param(p)) {
        p.only({"ns", "commands"});
        int i = 0;
        for (auto& line : p.strings("commands")) {
            ++i;
            try {
                cmds_.push_back(rules::parse_iptables(rules::split_words(strip_prefix(line))));
            } catch (const Error& e) {
                p.fail("command " + std::to_string(i) + " ('" + line + "'): " + e.what());
            }
        }
        if (cmds_.empty()) p.fail("'commands' is empty");
    }
    std::string describe(const LabNames& n) const override {
        return std::to_string(cmds_.size()) + " iptables command(s) in " + where_text(n, ns_);
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        std::vector<std::string> out;
        for (auto& c : cmds_) out.push_back(in_ns(n, ns_) + rules::to_command_line(c));
        return out;
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"rules:" + n.ns(ns_)}; }
    void makes(const LabNames& n, lab::LabInventory& inv) const override {
        inv.add_rules(n.ns(ns_));
        for (auto& c : cmds_)
            if (c.op == 'N') inv.add_chain({n.ns(ns_), c.table, c.chain});
    }

    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        Ruleset current = read_rules(real);
        Ruleset next = current;
        for (auto& c : cmds_) {
            try {
                rules::apply_command(next, c);
            } catch (const Error& e) {
                throw Error("iptables in netns " + real + ": " + rules::to_command_line(c) + ": " + e.what(), e.hint());
            }
        }
        if (rules::normalized(next) == rules::normalized(current)) return;
        // Programmed in canonical chain order, so the kernel's order depends on the rules alone and
        // undo gives back the very same listing.
        ctx.change("rules", {{"ns", real}, {"prior", rules::serialize_rules(current)}, {"after", rules::serialize_rules(next)}},
                   [&] { net::nft_replace(real, rules::normalized(next), rules::tables()); });
    }

    std::vector<Check> check(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        // Expected: the ruleset the latest rules change of this lab made in this namespace.
        std::string after;
        bool found = false;
        for (auto& s : ctx.journal->steps()) {
            for (auto& r : ctx.journal->records(s.id))
                if (r.kind == "rules" && r.data.at("ns") == real) {
                    after = r.data.at("after");
                    found = true;
                }
            if (s.id == ctx.step) break;
        }
        if (!found) return {pass("rules in netns " + real + " (no change was needed)")};
        Ruleset want = rules::normalized(rules::deserialize_rules(after));
        Ruleset got;
        try {
            got = rules::normalized(net::to_ruleset(net::nft_dump(real, rules::tables())));
        } catch (const Error& e) {
            return {fail("rules in netns " + real + " read back", "a readable ruleset", e.what())};
        }
        if (got == want) return {pass("rules in netns " + real + " are the expected " + std::to_string(rules::rule_count(want)) + " rule(s)")};
        return {fail("rules in netns " + real, "\n" + listing(want), "\n" + listing(got))};
    }

private:
    static std::string listing(const Ruleset& rs) {
        std::string out;
        for (auto& t : rs.tables) {
            std::istringstream in(rules::render_table(t));
            std::string l;
            while (std::getline(in, l))
                if (l.rfind("-P", 0) != 0) out += "            -t " + t.name + " " + l + "\n";
        }
        if (!out.empty() && out.back() == '\n') out.pop_back();
        return out.empty() ? "            (no rules)" : out;
    }

    std::string ns_;
    std::vector<rules::IptCommand> cmds_;
};

}  // namespace

Ruleset read_rules(const std::string& real_ns) {
    auto dump = net::nft_dump(real_ns, rules::tables());
    for (auto& t : dump)
        for (auto& c : t.chains)
            for (auto& r : c.rules)
                if (!r.decoded)
                    throw Error("read rules in netns " + real_ns + ": table " + t.name + " chain " + c.name +
                                    " holds a rule netlab did not make and cannot read: " + r.raw,
                                "netlab will not overwrite rules it did not make; remove it, or run another --lab");
    return net::to_ruleset(dump);
}

void register_rules(lab::Registry& reg) {
    reg.add_action("iptables", [](const Params& p) { return std::make_unique<RulesAction>(p); });
    reg.add_undo("rules", [](Context&, const lab::Record& r) {
        const std::string& ns = r.data.at("ns");
        if (!net::netns_exists(ns)) return;
        net::nft_replace(ns, rules::normalized(rules::deserialize_rules(r.data.at("prior"))), rules::tables());
    });
}

}  // namespace netlab::steps
