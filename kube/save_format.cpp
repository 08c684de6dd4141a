// Each kube-proxy rule is parsed into its parts (addresses, protocol, matches with their options,
// target with its options) and printed back in the order and the spelling of iptables' save
// functions (save_rule and the libxt_* save callbacks: comment, tcp/udp/sctp, statistic, recent,
// mark, addrtype, conntrack, nfacct; MARK, MASQUERADE, DNAT, REJECT).
#include "kube/save_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "rules/words.h"

namespace netlab::kube {
namespace {

// xtables_save_string: bare when only [A-Za-z0-9_-], else quoted with \ before " \ '.
std::string save_string(const std::string& v) {
    bool bare = !v.empty();
    for (char c : v)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
    if (bare) return v;
    std::string q = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\' || c == '\'') q += '\\';
        q += c;
    }
    return q + "\"";
}

std::string with_prefix(const std::string& addr) { return addr.find('/') == std::string::npos ? addr + "/32" : addr; }

unsigned long parse_num(const std::string& s) { return std::stoul(s, nullptr, 0); }

std::string hex(unsigned long v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%lx", v);
    return b;
}

struct Match {
    std::string name;
    std::vector<std::string> opts;  // as written, "!" kept
};

std::string save_match(const Match& m) {
    const auto& o = m.opts;
    auto value = [&](const std::string& key) -> std::string {
        for (size_t i = 0; i + 1 < o.size(); ++i)
            if (o[i] == key) return o[i + 1];
        return "";
    };
    auto has = [&](const std::string& key) {
        for (auto& x : o)
            if (x == key) return true;
        return false;
    };
    std::string s = " -m " + m.name;
    if (m.name == "comment") return s + " --comment " + save_string(value("--comment"));
    if (m.name == "statistic") {
        // The kernel keeps lround(p * 2^31); iptables prints it back with %.11f.
        double p = std::stod(value("--probability"));
        unsigned long stored = static_cast<unsigned long>(std::lround(p * 2147483648.0));
        char b[64];
        std::snprintf(b, sizeof b, " --mode random --probability %.11f", 1.0 * stored / 2147483648.0);
        return s + b;
    }
    if (m.name == "recent") {
        if (has("--set")) s += " --set";
        if (has("--rcheck")) s += " --rcheck";
        if (has("--update")) s += " --update";
        if (has("--remove")) s += " --remove";
        if (has("--seconds")) s += " --seconds " + value("--seconds");
        if (has("--reap")) s += " --reap";
        return s + " --name " + value("--name") + " --mask 255.255.255.255 --rsource";
    }
    if (m.name == "mark") {
        std::string v = value("--mark");
        auto slash = v.find('/');
        unsigned long mark = parse_num(v.substr(0, slash));
        unsigned long mask = slash == std::string::npos ? 0xffffffffUL : parse_num(v.substr(slash + 1));
        if (has("!")) s += " !";
        return s + " --mark " + hex(mark) + (mask == 0xffffffffUL ? "" : "/" + hex(mask));
    }
    if (m.name == "nfacct") return s + " --nfacct-name  " + value("--nfacct-name");
    // tcp/udp/sctp, addrtype and conntrack print their options as kube-proxy writes them.
    for (auto& x : o) s += " " + x;
    return s;
}

std::string save_target(const std::string& target, const std::vector<std::string>& o) {
    if (target.empty()) return "";
    std::string s = " -j " + target;
    auto value = [&](const std::string& key) -> std::string {
        for (size_t i = 0; i + 1 < o.size(); ++i)
            if (o[i] == key) return o[i + 1];
        return "";
    };
    if (target == "MARK") {
        if (!value("--or-mark").empty()) {
            auto m = parse_num(value("--or-mark"));
            return s + " --set-xmark " + hex(m) + "/" + hex(m);
        }
        if (!value("--xor-mark").empty()) return s + " --set-xmark " + hex(parse_num(value("--xor-mark"))) + "/0x0";
    }
    if (target == "REJECT" && o.empty()) return s + " --reject-with icmp-port-unreachable";
    for (auto& x : o) s += " " + x;
    return s;
}

std::string save_rule(const std::string& line) {
    auto w = rules::split_words(line);  // the restore text quotes as a shell does
    std::string chain = w.at(1);
    std::string src, dst, proto, target;
    bool src_not = false, dst_not = false;
    std::vector<Match> matches;
    std::vector<std::string> target_opts;
    bool in_target = false, negate = false;
    for (size_t i = 2; i < w.size(); ++i) {
        const std::string& t = w[i];
        if (t == "!") {
            negate = true;
            continue;
        }
        if (!in_target && (t == "-s" || t == "-d" || t == "-p")) {
            const std::string& v = w.at(++i);
            if (t == "-s") src = v, src_not = negate;
            if (t == "-d") dst = v, dst_not = negate;
            if (t == "-p") proto = v;
        } else if (!in_target && t == "-m") {
            matches.push_back({w.at(++i), {}});
            if (negate) throw Error("render iptables-save form: '!' before -m in: " + line);
        } else if (t == "-j") {
            target = w.at(++i);
            in_target = true;
        } else if (in_target) {
            target_opts.push_back(t);
        } else {
            if (matches.empty()) throw Error("render iptables-save form: option outside a match in: " + line);
            if (negate) matches.back().opts.push_back("!");
            matches.back().opts.push_back(t);
        }
        negate = false;
    }
    std::string s = "-A " + chain;
    if (!src.empty()) s += std::string(src_not ? " !" : "") + " -s " + with_prefix(src);
    if (!dst.empty()) s += std::string(dst_not ? " !" : "") + " -d " + with_prefix(dst);
    if (!proto.empty()) s += " -p " + proto;
    for (auto& m : matches) s += save_match(m);
    return s + save_target(target, target_opts);
}

}  // namespace

std::string restore_to_save(const std::string& restore) {
    // iptables-save (nf_tables) lists per table the built-in chains with their policy, then the other
    // chains sorted by name, then the rules grouped by chain in that order.
    static const std::map<std::string, std::vector<std::string>> builtin{
        {"filter", {"INPUT", "FORWARD", "OUTPUT"}},
        {"nat", {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
        {"mangle", {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
    };
    std::istringstream in(restore);
    std::string line, out, table;
    std::map<std::string, std::vector<std::string>> rules;  // chain -> saved rules, chains sorted
    auto flush = [&] {
        out += "*" + table + "\n";
        auto b = builtin.find(table);
        if (b != builtin.end())
            for (auto& c : b->second) out += ":" + c + " ACCEPT [0:0]\n";
        for (auto& [c, r] : rules)
            if (b == builtin.end() || std::find(b->second.begin(), b->second.end(), c) == b->second.end())
                out += ":" + c + " - [0:0]\n";
        if (b != builtin.end())
            for (auto& c : b->second)
                for (auto& r : rules[c]) out += r + "\n";
        for (auto& [c, r] : rules)
            if (b == builtin.end() || std::find(b->second.begin(), b->second.end(), c) == b->second.end())
                for (auto& x : r) out += x + "\n";
        out += "COMMIT\n";
        rules.clear();
    };
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line[0] == '*') {
            table = line.substr(1);
        } else if (line[0] == ':') {
            rules[line.substr(1, line.find(' ') - 1)];
        } else if (line.rfind("-A ", 0) == 0) {
            std::string chain = line.substr(3, line.find(' ', 3) - 3);
            rules[chain].push_back(save_rule(line));
        } else if (line == "COMMIT") {
            flush();
        } else {
            throw Error("render iptables-save form: unexpected line: " + line);
        }
    }
    return out;
}

}  // namespace netlab::kube
