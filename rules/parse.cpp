// iptables arguments -> IptCommand: the walk over the arguments, and iptables' own consistency
// checks and wording once all are read. The option table is options.cpp, the values values.cpp. Pure.
#include "rules/command.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "base/error.h"
#include "rules/builtin.h"
#include "rules/options.h"
#include "rules/values.h"

namespace netlab::rules {

namespace {

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
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
