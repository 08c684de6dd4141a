// Rules rendered the way `iptables-nft -S` (1.8.9) prints them, and commands as shell lines that
// split_words and parse_iptables read back. Pure.
#include "rules/render.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "rules/builtin.h"
#include "rules/probability.h"
#include "rules/words.h"

namespace netlab::rules {

namespace {

// libxtables' xtables_save_string: bare when only [A-Za-z0-9_-], else double-quoted with \" \\ \'.
std::string save_string(const std::string& v) {
    static const char safe[] = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (!v.empty() && v.find_first_not_of(safe) == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\' || c == '\'') out += '\\';
        out += c;
    }
    return out + "\"";
}

// shell (so that split_words gives the words back) instead of iptables' own -S quoting.
std::string rule_spec(const IptRule& r, bool shell) {
    std::string s;
    auto q = [&](const std::string& v) { return shell ? shell_quote(v) : v; };
    auto add = [&](const std::string& part) { s += " " + part; };
    if (!r.src.empty()) add("-s " + q(r.src));
    if (!r.dst.empty()) add("-d " + q(r.dst));
    if (!r.in_iface.empty()) add("-i " + q(r.in_iface));
    if (!r.out_iface.empty()) add("-o " + q(r.out_iface));
    if (!r.proto.empty()) add("-p " + r.proto);
    if (!r.proto.empty() && (r.match_proto || r.sport || r.dport)) {
        add("-m " + r.proto);
        if (r.sport) add("--sport " + std::to_string(*r.sport));
        if (r.dport) add("--dport " + std::to_string(*r.dport));
    }
    if (r.probability) {
        // -S prints what the kernel keeps (format_probability); a command line keeps the value as
        // written (shortest form that reads back the same).
        std::string p;
        if (shell) {
            char buf[64];
            auto res = std::to_chars(buf, buf + sizeof buf, *r.probability);
            p.assign(buf, res.ptr);
        } else {
            p = format_probability(*r.probability);
        }
        add("-m statistic --mode random --probability " + p);
    }
    if (!r.comment.empty())
        add("-m comment --comment " + (shell ? shell_quote(r.comment) : save_string(r.comment)));
    if (!r.target.empty()) add((r.goto_chain ? "-g " : "-j ") + q(r.target));
    if (r.target == "DNAT" && !r.to_destination.empty()) add("--to-destination " + q(r.to_destination));
    return s;
}

bool user_chain_less(const IptChain* a, const IptChain* b) { return a->name < b->name; }

}  // namespace

std::string render_rule(const std::string& chain, const IptRule& r) { return "-A " + chain + rule_spec(r, false); }

std::string render_table(const IptTable& t) {
    std::string out;
    std::vector<const IptChain*> builtin_present;
    std::vector<const IptChain*> user;
    for (const auto& ch : t.chains) {
        if (ch.builtin || is_builtin(t.name, ch.name)) builtin_present.push_back(&ch);
        else user.push_back(&ch);
    }
    std::sort(builtin_present.begin(), builtin_present.end(), [&](const IptChain* a, const IptChain* b) {
        return builtin_index(t.name, a->name) < builtin_index(t.name, b->name);
    });
    std::sort(user.begin(), user.end(), user_chain_less);

    for (const auto& b : builtin_chains()) {
        if (t.name != b.table) continue;
        std::string policy = b.policy;
        for (const auto* ch : builtin_present)
            if (ch->name == b.name && !ch->policy.empty()) policy = ch->policy;
        out += "-P " + std::string(b.name) + " " + policy + "\n";
    }
    for (const auto* ch : user) out += "-N " + ch->name + "\n";
    for (const auto* ch : builtin_present)
        for (const auto& r : ch->rules) out += render_rule(ch->name, r) + "\n";
    for (const auto* ch : user)
        for (const auto& r : ch->rules) out += render_rule(ch->name, r) + "\n";
    return out;
}

std::string render_table(const Ruleset& rs, const std::string& table) {
    for (const auto& t : rs.tables)
        if (t.name == table) return render_table(t);
    return render_table(IptTable{table, {}});
}

std::string to_command_line(const IptCommand& cmd) {
    std::string s = "iptables -t " + shell_quote(cmd.table);
    switch (cmd.op) {
        case 'A':
            s += " -A " + shell_quote(cmd.chain) + rule_spec(cmd.rule, true);
            break;
        case 'I':
            s += " -I " + shell_quote(cmd.chain);
            if (cmd.position > 0) s += " " + std::to_string(cmd.position);
            s += rule_spec(cmd.rule, true);
            break;
        case 'D':
            s += " -D " + shell_quote(cmd.chain);
            if (cmd.position > 0) s += " " + std::to_string(cmd.position);
            else s += rule_spec(cmd.rule, true);
            break;
        case 'N': s += " -N " + shell_quote(cmd.chain); break;
        case 'X': s += " -X" + (cmd.chain.empty() ? std::string() : " " + shell_quote(cmd.chain)); break;
        case 'F': s += " -F" + (cmd.chain.empty() ? std::string() : " " + shell_quote(cmd.chain)); break;
        case 'P': s += " -P " + shell_quote(cmd.chain) + " " + shell_quote(cmd.policy); break;
        default: s += " -?"; break;
    }
    return s;
}


}  // namespace netlab::rules
