// iptables arguments -> IptCommand: the option table (long names by unambiguous prefix, as
// getopt_long takes them), the value parsers, and iptables' own checks and wording. Pure.
#include "rules/command.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "base/error.h"
#include "base/ipv4.h"
#include "rules/builtin.h"

namespace netlab::rules {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// ---------------------------------------------------------------- value parsers

// "10.0.0.3/24" -> "10.0.0.0/24", "1.2.3.4" -> "1.2.3.4/32", "1.2.3.4/255.255.0.0" -> "1.2.0.0/16".
std::string parse_address(const std::string& v) {
    auto slash = v.find('/');
    if (!parse_ipv4(v.substr(0, slash))) throw UsageError("bad address '" + v + "'");
    auto c = parse_ipv4_cidr_or_mask(v);
    if (!c) throw UsageError("bad mask '" + v.substr(slash + 1) + "' in address '" + v + "'");
    return Ipv4Cidr{c->network(), c->prefix}.str();
}

std::string any_to_empty(const std::string& cidr) { return cidr == "0.0.0.0/0" ? std::string() : cidr; }

uint16_t parse_port_value(const std::string& v) {
    auto p = parse_port(v);
    if (!p) throw UsageError("bad port '" + v + "'");
    return *p;
}

std::string parse_iface(const std::string& v) {
    if (v.empty() || v.size() > 15)
        throw UsageError("bad interface name '" + v + "' (1 to 15 characters)");
    for (char c : v)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '/')
            throw UsageError("bad interface name '" + v + "'");
    return v;
}

// "" (any), "tcp" or "udp".
std::string parse_proto(const std::string& v) {
    std::string l = lower(v);
    if (l == "tcp" || l == "6") return "tcp";
    if (l == "udp" || l == "17") return "udp";
    if (l == "all" || l == "0") return "";
    throw UsageError("unsupported protocol '" + v + "' (netlab supports tcp and udp)");
}

double parse_probability(const std::string& v) {
    errno = 0;
    char* end = nullptr;
    double p = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !(p >= 0.0 && p <= 1.0))
        throw UsageError("bad probability '" + v + "' (a number from 0 to 1)");
    return p;
}

// "10.0.0.11:8080" or "10.0.0.11"; ranges are not supported.
// "10.0.0.11:8080" or "10.0.0.11"; ranges are not supported.
std::string parse_to_destination(const std::string& v) {
    auto colon = v.find(':');
    std::string host = v.substr(0, colon);
    auto bad = [&] { return UsageError("bad --to-destination '" + v + "' (expected IP or IP:PORT)"); };
    if (!parse_ipv4(host)) throw bad();
    if (colon == std::string::npos) return host;
    auto port = parse_port(v.substr(colon + 1));
    if (!port) throw bad();
    return host + ":" + std::to_string(*port);
}

void check_chain_name(const std::string& name) {
    if (name.empty()) throw UsageError("empty chain name");
    if (name.size() >= 29)
        throw UsageError("chain name `" + name + "' too long (must be under 29 chars)");
    if (name[0] == '-' || name[0] == '!')
        throw UsageError(std::string("chain name not allowed to start with `") + name[0] + "'");
    if (is_non_chain_target(name) || is_unsupported_extension_target(name))
        throw UsageError("chain name may not clash with target name");
    for (char c : name)
        if (std::isspace(static_cast<unsigned char>(c))) throw UsageError("Invalid chain name `" + name + "'");
}

// ---------------------------------------------------------------- option table

enum class Opt {
    Table, Append, Insert, Delete, NewChain, DeleteChain, Flush, Policy,
    Source, Destination, InIface, OutIface, Protocol, Match, Jump, Goto,
    DPort, SPort, Mode, Probability, Comment, ToDestination,
};

struct OptSpec {
    const char* long_name;
    char short_name;  // 0 = none
    Opt opt;
};

// Long names are matched exactly, or as an unambiguous prefix (getopt_long's rule, which is how the
// article's `--new` means `--new-chain`).
const OptSpec kOpts[] = {
    {"table", 't', Opt::Table},
    {"append", 'A', Opt::Append},
    {"insert", 'I', Opt::Insert},
    {"delete", 'D', Opt::Delete},
    {"new-chain", 'N', Opt::NewChain},
    {"delete-chain", 'X', Opt::DeleteChain},
    {"flush", 'F', Opt::Flush},
    {"policy", 'P', Opt::Policy},
    {"source", 's', Opt::Source},
    {"src", 0, Opt::Source},
    {"destination", 'd', Opt::Destination},
    {"dst", 0, Opt::Destination},
    {"in-interface", 'i', Opt::InIface},
    {"out-interface", 'o', Opt::OutIface},
    {"protocol", 'p', Opt::Protocol},
    {"match", 'm', Opt::Match},
    {"jump", 'j', Opt::Jump},
    {"goto", 'g', Opt::Goto},
    {"destination-port", 0, Opt::DPort},
    {"dport", 0, Opt::DPort},
    {"source-port", 0, Opt::SPort},
    {"sport", 0, Opt::SPort},
    {"mode", 0, Opt::Mode},
    {"probability", 0, Opt::Probability},
    {"comment", 0, Opt::Comment},
    {"to-destination", 0, Opt::ToDestination},
};

std::string display_name(Opt o) {
    for (const auto& s : kOpts)
        if (s.opt == o) return s.short_name ? std::string("-") + s.short_name : std::string("--") + s.long_name;
    return "?";
}

// Resolves "--name" (without the dashes) to an option; throws on unknown or ambiguous names.
Opt find_long(const std::string& name, const std::string& as_written) {
    for (const auto& s : kOpts)
        if (name == s.long_name) return s.opt;
    std::vector<const OptSpec*> hits;
    for (const auto& s : kOpts)
        if (std::strncmp(s.long_name, name.c_str(), name.size()) == 0) hits.push_back(&s);
    if (hits.empty()) throw UsageError("unsupported iptables option '" + as_written + "'");
    bool same = std::all_of(hits.begin(), hits.end(), [&](const OptSpec* s) { return s->opt == hits[0]->opt; });
    if (!same) {
        std::string list;
        for (const auto* s : hits) list += (list.empty() ? "--" : ", --") + std::string(s->long_name);
        throw UsageError("ambiguous iptables option '" + as_written + "' (could be " + list + ")");
    }
    return hits[0]->opt;
}

Opt find_short(char c, const std::string& as_written) {
    for (const auto& s : kOpts)
        if (s.short_name == c) return s.opt;
    throw UsageError("unsupported iptables option '" + as_written + "'");
}

char command_letter(Opt o) {
    switch (o) {
        case Opt::Append: return 'A';
        case Opt::Insert: return 'I';
        case Opt::Delete: return 'D';
        case Opt::NewChain: return 'N';
        case Opt::DeleteChain: return 'X';
        case Opt::Flush: return 'F';
        case Opt::Policy: return 'P';
        default: return 0;
    }
}

// Everything a parse has seen, checked for consistency at the end.
struct ParseState {
    IptCommand cmd;
    std::map<Opt, int> seen;  // rule options given, to reject repeats
    std::vector<std::string> matches;  // -m modules in order
    bool have_mode = false;
    std::string written_target;  // "-j X" or "-g X" as written, for messages
};

void once(ParseState& st, Opt o, const std::string& as_written) {
    if (st.seen[o]++ > 0) {
        switch (o) {
            case Opt::Source: throw UsageError("multiple -s flags not allowed");
            case Opt::Destination: throw UsageError("multiple -d flags not allowed");
            case Opt::InIface: throw UsageError("multiple -i flags not allowed");
            case Opt::OutIface: throw UsageError("multiple -o flags not allowed");
            case Opt::Protocol: throw UsageError("multiple -p flags not allowed");
            case Opt::Jump:
            case Opt::Goto: throw UsageError("multiple -j flags not allowed");
            case Opt::Table: throw UsageError("multiple -t flags not allowed");
            default: throw UsageError("Only one `" + as_written + "' allowed");
        }
    }
}

void set_command(ParseState& st, Opt o, const std::string& as_written) {
    char c = command_letter(o);
    if (st.cmd.op != 0)
        throw UsageError(std::string("Can't use -") + c + " with -" + st.cmd.op + " (one command per line, at '" +
                         as_written + "')");
    st.cmd.op = c;
}

void check_after_parse(ParseState& st) {
    IptCommand& c = st.cmd;
    IptRule& r = c.rule;
    if (c.op == 0) throw UsageError("no command specified (expected -A, -I, -D, -N, -X, -F or -P)");
    if (!is_table(c.table))
        throw UsageError("unsupported iptables table '" + c.table + "' (netlab programs nat and filter)");

    const bool rule_cmd = c.op == 'A' || c.op == 'I' || c.op == 'D';
    bool has_rule_opts = false;
    for (const auto& [o, n] : st.seen) {
        if (n == 0 || o == Opt::Table) continue;
        has_rule_opts = true;
        if (!rule_cmd) throw UsageError("Illegal option `" + display_name(o) + "' with this command");
    }
    if (c.op == 'D' && c.position > 0 && has_rule_opts)
        throw UsageError("-D takes either a rule number or a rule specification, not both");

    // Matches and their options.
    for (const auto& m : st.matches) {
        if (m == "tcp" || m == "udp") {
            if (r.proto != m) {
                std::string up = m == "tcp" ? "TCP" : "UDP";
                throw UsageError(up + " match requires '-p " + m + "'");
            }
            r.match_proto = true;
        }
    }
    if (r.sport || r.dport) {
        if (r.proto.empty())
            throw UsageError("option '" + std::string(r.dport ? "--dport" : "--sport") +
                             "' requires -p tcp or -p udp");
        r.match_proto = true;  // iptables loads the protocol's match implicitly
    }
    bool statistic = std::find(st.matches.begin(), st.matches.end(), "statistic") != st.matches.end();
    bool comment = std::find(st.matches.begin(), st.matches.end(), "comment") != st.matches.end();
    if ((st.have_mode || r.probability) && !statistic)
        throw UsageError("option '" + std::string(st.have_mode ? "--mode" : "--probability") +
                         "' requires -m statistic");
    if (statistic) {
        if (!st.have_mode) throw UsageError("statistic: option \"--mode\" must be specified");
        if (!r.probability) r.probability = 0.0;
    }
    if (st.seen[Opt::Comment] > 0 && !comment) throw UsageError("option '--comment' requires -m comment");
    if (comment && st.seen[Opt::Comment] == 0) throw UsageError("comment: option \"--comment\" must be specified");

    // Target.
    if (!r.to_destination.empty() && r.target != "DNAT")
        throw UsageError("option '--to-destination' requires -j DNAT");
    if (r.target == "DNAT") {
        if (r.to_destination.empty()) throw UsageError("DNAT: option \"--to-destination\" must be specified");
        if (r.to_destination.find(':') != std::string::npos && r.proto.empty())
            throw UsageError("Need TCP, UDP, SCTP or DCCP with port specification");
    }
    if (is_xt_target(r.target) && c.table != "nat")
        throw UsageError("-j " + r.target + " is only valid in the nat table");
    if (is_unsupported_extension_target(r.target))
        throw UsageError("unsupported iptables target '" + r.target + "'");
    if (r.goto_chain && is_non_chain_target(r.target))
        throw UsageError("goto '" + r.target + "' is not a chain");
    if (c.table == "nat" && (r.target == "DROP" || c.policy == "DROP"))
        throw UsageError("The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.");

    if (c.op == 'N') check_chain_name(c.chain);
    if (c.op == 'P' && c.policy != "ACCEPT" && c.policy != "DROP") throw UsageError("Bad policy name");
}

}  // namespace

// ---------------------------------------------------------------- parse

IptCommand parse_iptables(const std::vector<std::string>& args) {
    ParseState st;
    IptCommand& c = st.cmd;
    IptRule& r = c.rule;
    size_t i = 0;

    auto next_is_value = [&](size_t j) { return j < args.size() && !args[j].empty() && args[j][0] != '-'; };

    while (i < args.size()) {
        const std::string& a = args[i++];
        if (a == "!") throw UsageError("unsupported iptables option '!' (negation)");
        if (a.size() < 2 || a[0] != '-') throw UsageError("unexpected argument '" + a + "'");

        Opt o;
        std::string value;
        bool have_value = false;
        std::string written = a;
        if (a[1] == '-') {
            std::string name = a.substr(2);
            auto eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                have_value = true;
                written = "--" + name;
            }
            if (name.empty()) throw UsageError("unsupported iptables option '" + a + "'");
            o = find_long(name, written);
        } else {
            written = a.substr(0, 2);
            o = find_short(a[1], written);
            if (a.size() > 2) {  // "-tnat": the value glued to the option, as getopt allows
                value = a.substr(2);
                have_value = true;
            }
        }

        auto arg = [&]() -> std::string {
            if (have_value) return value;
            if (i >= args.size()) throw UsageError("option '" + written + "' requires an argument");
            return args[i++];
        };

        switch (o) {
            case Opt::Table: {
                once(st, o, written);
                c.table = arg();
                if (!is_table(c.table))
                    throw UsageError("unsupported iptables table '" + c.table + "' (netlab programs nat and filter)");
                break;
            }
            case Opt::Append:
            case Opt::Insert:
            case Opt::Delete:
            case Opt::NewChain:
            case Opt::Policy: {
                set_command(st, o, written);
                c.chain = arg();
                if (c.chain.empty()) throw UsageError("empty chain name");
                if ((o == Opt::Insert || o == Opt::Delete) && next_is_value(i)) {
                    const std::string& n = args[i++];
                    if (!all_digits(n) || n.size() > 9 || std::stoi(n) <= 0)
                        throw UsageError("Invalid rule number `" + n + "'");
                    c.position = std::stoi(n);
                }
                if (o == Opt::Policy) {
                    if (i >= args.size()) throw UsageError("-P requires a chain and a policy");
                    c.policy = args[i++];
                }
                break;
            }
            case Opt::DeleteChain:
            case Opt::Flush: {
                set_command(st, o, written);
                if (have_value) c.chain = value;
                else if (next_is_value(i)) c.chain = args[i++];
                break;
            }
            // "0.0.0.0/0" matches everything; iptables stores and prints nothing for it.
            case Opt::Source: once(st, o, written); r.src = any_to_empty(parse_address(arg())); break;
            case Opt::Destination: once(st, o, written); r.dst = any_to_empty(parse_address(arg())); break;
            case Opt::InIface: once(st, o, written); r.in_iface = parse_iface(arg()); break;
            case Opt::OutIface: once(st, o, written); r.out_iface = parse_iface(arg()); break;
            case Opt::Protocol: once(st, o, written); r.proto = parse_proto(arg()); break;
            case Opt::Match: {
                std::string m = lower(arg());
                if (m != "tcp" && m != "udp" && m != "statistic" && m != "comment")
                    throw UsageError("unsupported iptables match '" + m +
                                     "' (netlab supports tcp, udp, statistic, comment)");
                st.seen[Opt::Match]++;
                if (std::find(st.matches.begin(), st.matches.end(), m) == st.matches.end()) st.matches.push_back(m);
                break;
            }
            case Opt::Jump:
            case Opt::Goto: {
                if (st.seen[Opt::Jump] + st.seen[Opt::Goto] > 0) throw UsageError("multiple -j flags not allowed");
                st.seen[o]++;
                r.target = arg();
                if (r.target.empty()) throw UsageError("empty target name");
                r.goto_chain = o == Opt::Goto;
                break;
            }
            case Opt::DPort: once(st, o, "--dport"); r.dport = parse_port_value(arg()); break;
            case Opt::SPort: once(st, o, "--sport"); r.sport = parse_port_value(arg()); break;
            case Opt::Mode: {
                once(st, o, "--mode");
                std::string m = arg();
                if (m != "random") throw UsageError("unsupported statistic mode '" + m + "' (netlab supports random)");
                st.have_mode = true;
                break;
            }
            case Opt::Probability: once(st, o, "--probability"); r.probability = parse_probability(arg()); break;
            case Opt::Comment: {
                once(st, o, "--comment");
                r.comment = arg();
                if (r.comment.empty()) throw UsageError("empty --comment (netlab needs a non-empty comment)");
                if (r.comment.size() > 255) throw UsageError("comment may not exceed 255 characters");
                break;
            }
            case Opt::ToDestination:
                once(st, o, "--to-destination");
                r.to_destination = parse_to_destination(arg());
                break;
        }
    }
    check_after_parse(st);
    return c;
}

}  // namespace netlab::rules
