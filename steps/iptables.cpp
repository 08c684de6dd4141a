// iptables command lines <-> data, applied to an in-memory Ruleset and rendered the way
// `iptables-nft -S` (1.8.9) prints them. Pure: no kernel access.
#include "steps/iptables.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "base/error.h"

namespace netlab::steps {

namespace {

using net::IptChain;
using net::IptRule;
using net::IptTable;
using net::Ruleset;

// Builtin chains of the tables iptables-nft knows, in hook order (the order `-S` prints them in).
const std::vector<std::string>* builtin_chains(const std::string& table) {
    static const std::vector<std::string> nat = {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
    static const std::vector<std::string> filter = {"INPUT", "FORWARD", "OUTPUT"};
    if (table == "nat") return &nat;
    if (table == "filter") return &filter;
    return nullptr;
}

bool is_builtin(const std::string& table, const std::string& chain) {
    const auto* b = builtin_chains(table);
    return b && std::find(b->begin(), b->end(), chain) != b->end();
}

int builtin_index(const std::string& table, const std::string& chain) {
    const auto* b = builtin_chains(table);
    if (!b) return -1;
    auto it = std::find(b->begin(), b->end(), chain);
    return it == b->end() ? -1 : static_cast<int>(it - b->begin());
}

bool is_verdict(const std::string& t) { return t == "ACCEPT" || t == "DROP" || t == "RETURN"; }
bool is_xt_target(const std::string& t) { return t == "DNAT" || t == "MASQUERADE"; }
// A target that is not a chain: verdicts, the supported extensions, and "no target".
bool is_non_chain_target(const std::string& t) { return t.empty() || is_verdict(t) || is_xt_target(t); }

// Extension targets iptables knows but netlab does not program (a chain can't have these names).
bool is_unsupported_extension_target(const std::string& t) {
    static const char* const names[] = {
        "AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT", "DSCP", "ECN",
        "HMARK", "IDLETIMER", "LED", "LOG", "MARK", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "QUEUE",
        "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
        "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG"};
    for (const char* n : names)
        if (t == n) return true;
    return false;
}

// What the kernel stores for --probability P (xt_statistic: lround(P * 2^31)).
uint32_t probability_raw(double p) { return static_cast<uint32_t>(std::lround(p * 2147483648.0)); }
double quantize_probability(double p) { return probability_raw(p) / 2147483648.0; }

// A rule in the canonical form rules are compared in (as iptables compares them: after parsing).
IptRule canonical_rule(IptRule r) {
    if (r.probability) r.probability = quantize_probability(*r.probability);
    if (r.sport || r.dport) r.match_proto = true;
    return r;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// ---------------------------------------------------------------- value parsers

int prefix_of_mask(uint32_t host_mask) {
    int n = 0;
    while (n < 32 && (host_mask & (0x80000000u >> n))) ++n;
    uint32_t expect = n == 0 ? 0 : (0xffffffffu << (32 - n));
    return host_mask == expect ? n : -1;
}

// "10.0.0.3/24" -> "10.0.0.0/24", "1.2.3.4" -> "1.2.3.4/32", "1.2.3.4/255.255.0.0" -> "1.2.0.0/16".
std::string parse_address(const std::string& v) {
    auto slash = v.find('/');
    std::string host = v.substr(0, slash);
    in_addr a{};
    if (host.empty() || ::inet_pton(AF_INET, host.c_str(), &a) != 1)
        throw UsageError("bad address '" + v + "'");
    int prefix = 32;
    if (slash != std::string::npos) {
        std::string m = v.substr(slash + 1);
        in_addr ma{};
        if (all_digits(m) && m.size() <= 2 && std::stoi(m) <= 32) {
            prefix = std::stoi(m);
        } else if (::inet_pton(AF_INET, m.c_str(), &ma) == 1 && prefix_of_mask(ntohl(ma.s_addr)) >= 0) {
            prefix = prefix_of_mask(ntohl(ma.s_addr));
        } else {
            throw UsageError("bad mask '" + m + "' in address '" + v + "'");
        }
    }
    uint32_t mask = prefix == 0 ? 0 : (0xffffffffu << (32 - prefix));
    a.s_addr = htonl(ntohl(a.s_addr) & mask);
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix);
}

std::string any_to_empty(const std::string& cidr) { return cidr == "0.0.0.0/0" ? std::string() : cidr; }

uint16_t parse_port(const std::string& v) {
    if (!all_digits(v) || v.size() > 5 || std::stoul(v) > 65535) throw UsageError("bad port '" + v + "'");
    return static_cast<uint16_t>(std::stoul(v));
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
std::string parse_to_destination(const std::string& v) {
    auto colon = v.find(':');
    std::string host = v.substr(0, colon);
    in_addr a{};
    if (host.empty() || ::inet_pton(AF_INET, host.c_str(), &a) != 1)
        throw UsageError("bad --to-destination '" + v + "' (expected IP or IP:PORT)");
    if (colon == std::string::npos) return host;
    std::string port = v.substr(colon + 1);
    if (!all_digits(port) || port.size() > 5 || std::stoul(port) > 65535)
        throw UsageError("bad --to-destination '" + v + "' (expected IP or IP:PORT)");
    return host + ":" + std::to_string(std::stoul(port));
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
    if (!builtin_chains(c.table))
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
                if (!builtin_chains(c.table))
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
            case Opt::DPort: once(st, o, "--dport"); r.dport = parse_port(arg()); break;
            case Opt::SPort: once(st, o, "--sport"); r.sport = parse_port(arg()); break;
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

// ---------------------------------------------------------------- split_words

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false;
    size_t i = 0;
    const size_t n = line.size();
    auto finish = [&] {
        if (in_word) words.push_back(cur);
        cur.clear();
        in_word = false;
    };
    while (i < n) {
        char ch = line[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            finish();
            ++i;
        } else if (ch == '#' && !in_word) {
            while (i < n && line[i] != '\n') ++i;
        } else if (ch == '\\') {
            // Backslash-newline is a continuation; so is a backslash followed only by blanks up to
            // the end of the line (a copy-paste artefact in the article's listings).
            size_t j = i + 1;
            while (j < n && (line[j] == ' ' || line[j] == '\t' || line[j] == '\r')) ++j;
            if (j >= n || line[j] == '\n') {
                if (j >= n && j == i + 1) throw UsageError("unterminated escape at the end of: " + std::string(line));
                i = j < n ? j + 1 : j;
                continue;
            }
            cur += line[i + 1];
            in_word = true;
            i += 2;
        } else if (ch == '\'') {
            auto close = line.find('\'', i + 1);
            if (close == std::string_view::npos) throw UsageError("unterminated ' quote in: " + std::string(line));
            cur.append(line.substr(i + 1, close - i - 1));
            in_word = true;
            i = close + 1;
        } else if (ch == '"') {
            ++i;
            in_word = true;
            bool closed = false;
            while (i < n) {
                char d = line[i];
                if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                if (d == '\\' && i + 1 < n) {
                    char e = line[i + 1];
                    if (e == '\n') {
                        i += 2;
                        continue;
                    }
                    if (e == '$' || e == '`' || e == '"' || e == '\\') {
                        cur += e;
                        i += 2;
                        continue;
                    }
                }
                cur += d;
                ++i;
            }
            if (!closed) throw UsageError("unterminated \" quote in: " + std::string(line));
        } else {
            cur += ch;
            in_word = true;
            ++i;
        }
    }
    finish();
    return words;
}

// ---------------------------------------------------------------- apply

namespace {

IptTable* find_table(Ruleset& rs, const std::string& name) {
    for (auto& t : rs.tables)
        if (t.name == name) return &t;
    return nullptr;
}

IptChain* find_chain(IptTable& t, const std::string& name) {
    for (auto& ch : t.chains)
        if (ch.name == name) return &ch;
    return nullptr;
}

// Creates a builtin chain on first use, as iptables-nft does (policy ACCEPT).
IptChain& ensure_builtin(IptTable& t, const std::string& name) {
    if (auto* ch = find_chain(t, name)) return *ch;
    IptChain ch;
    ch.name = name;
    ch.builtin = true;
    ch.policy = "ACCEPT";
    t.chains.push_back(ch);
    return t.chains.back();
}

int references_to(const IptTable& t, const std::string& chain) {
    int n = 0;
    for (const auto& ch : t.chains) {
        for (const auto& r : ch.rules)
            if (r.target == chain && !is_non_chain_target(r.target)) ++n;
    }
    return n;
}

[[noreturn]] void fail_at(const std::string& where, const std::string& reason, const std::string& hint = {}) {
    throw Error(where + ": " + reason, hint);
}

}  // namespace

void apply_command(net::Ruleset& rs, const IptCommand& cmd) {
    const std::string where = to_command_line(cmd);
    auto fail = [&](const std::string& reason, const std::string& hint = {}) { fail_at(where, reason, hint); };
    if (!builtin_chains(cmd.table))
        throw UsageError(where + ": unsupported iptables table '" + cmd.table + "'");

    IptTable* existing = find_table(rs, cmd.table);
    IptTable scratch{cmd.table, {}};
    IptTable& t = existing ? *existing : scratch;  // materialised below only when something is created
    auto commit_table = [&]() -> IptTable& {
        if (existing) return *existing;
        rs.tables.push_back(scratch);
        existing = &rs.tables.back();
        return *existing;
    };

    const bool builtin = is_builtin(cmd.table, cmd.chain);
    IptChain* chain = cmd.chain.empty() ? nullptr : find_chain(t, cmd.chain);

    switch (cmd.op) {
        case 'A':
        case 'I': {
            const IptRule& r = cmd.rule;
            if (!is_non_chain_target(r.target)) {
                IptChain* target = find_chain(t, r.target);
                if (is_builtin(cmd.table, r.target)) {
                    if (!target) fail("Chain '" + r.target + "' does not exist");
                    fail("Operation not supported (a rule cannot jump to the builtin chain " + r.target + ")");
                }
                if (!target)
                    fail("Chain '" + r.target + "' does not exist",
                         "create it first: iptables -t " + cmd.table + " -N " + r.target);
            } else if (r.goto_chain) {
                fail("goto '" + r.target + "' is not a chain");
            }
            if (!chain && !builtin) fail("No chain/target/match by that name");
            size_t size = chain ? chain->rules.size() : 0;
            size_t pos = cmd.op == 'A' ? size : static_cast<size_t>(cmd.position == 0 ? 1 : cmd.position) - 1;
            if (cmd.op == 'I' && (cmd.position < 0 || pos > size)) fail("Index of insertion too big");
            IptTable& tt = commit_table();
            IptChain& ch = builtin ? ensure_builtin(tt, cmd.chain) : *find_chain(tt, cmd.chain);
            ch.rules.insert(ch.rules.begin() + static_cast<long>(pos), r);
            return;
        }
        case 'D': {
            if (!chain && !builtin) fail("No chain/target/match by that name");
            if (cmd.position > 0) {
                if (!chain || static_cast<size_t>(cmd.position) > chain->rules.size())
                    fail("Index of deletion too big");
                chain->rules.erase(chain->rules.begin() + (cmd.position - 1));
                return;
            }
            if (chain) {
                const IptRule want = canonical_rule(cmd.rule);
                for (auto it = chain->rules.begin(); it != chain->rules.end(); ++it) {
                    if (canonical_rule(*it) == want) {
                        chain->rules.erase(it);
                        return;
                    }
                }
            }
            fail("Bad rule (does a matching rule exist in that chain?)");
            return;
        }
        case 'N': {
            if (chain || builtin) fail("Chain already exists");
            IptChain ch;
            ch.name = cmd.chain;
            commit_table().chains.push_back(ch);
            return;
        }
        case 'X': {
            std::vector<std::string> victims;
            if (!cmd.chain.empty()) {
                if (builtin)
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + cmd.chain,
                         "builtin chains cannot be deleted");
                if (!chain) fail("No chain/target/match by that name");
                victims.push_back(cmd.chain);
            } else {
                for (const auto& ch : t.chains)
                    if (!ch.builtin) victims.push_back(ch.name);
                std::sort(victims.begin(), victims.end());
            }
            for (const auto& v : victims) {
                const IptChain* ch = find_chain(t, v);
                if (!ch->rules.empty())
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + v,
                         "chain " + v + " still has " + std::to_string(ch->rules.size()) +
                             " rule(s); flush it first with -F " + v);
                if (int refs = references_to(t, v); refs > 0)
                    fail("CHAIN_DEL failed (Device or resource busy): chain " + v,
                         "chain " + v + " is the target of " + std::to_string(refs) + " rule(s)");
            }
            if (!existing) return;
            auto& chains = existing->chains;
            chains.erase(std::remove_if(chains.begin(), chains.end(),
                                        [&](const IptChain& ch) {
                                            return std::find(victims.begin(), victims.end(), ch.name) !=
                                                   victims.end();
                                        }),
                         chains.end());
            return;
        }
        case 'F': {
            if (!cmd.chain.empty()) {
                if (!chain) {
                    if (builtin) return;  // a builtin chain that does not exist yet is empty
                    fail("No chain/target/match by that name");
                }
                chain->rules.clear();
                return;
            }
            if (existing)
                for (auto& ch : existing->chains) ch.rules.clear();
            return;
        }
        case 'P': {
            if (!builtin) fail("Bad built-in chain name");
            if (cmd.policy != "ACCEPT" && cmd.policy != "DROP") fail("Bad policy name");
            if (cmd.table == "nat" && cmd.policy == "DROP")
                fail("The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.");
            ensure_builtin(commit_table(), cmd.chain).policy = cmd.policy;
            return;
        }
        default:
            throw UsageError(where + ": unknown iptables command '" + std::string(1, cmd.op) + "'");
    }
}

// ---------------------------------------------------------------- render

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

bool shell_safe(const std::string& w) {
    static const char safe[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=+,@%";
    return !w.empty() && w.find_first_not_of(safe) == std::string::npos;
}

std::string shell_quote(const std::string& w) {
    if (shell_safe(w)) return w;
    std::string out = "'";
    for (char c : w) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

// The rule options, without "-A CHAIN", in iptables' order. `shell`: quote every value for a POSIX
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
        // -S prints what the kernel keeps ("%.11f" of lround(p * 2^31) / 2^31); a command line
        // keeps the value as written (shortest form that reads back the same).
        char buf[64];
        if (shell) {
            auto res = std::to_chars(buf, buf + sizeof buf, *r.probability);
            *res.ptr = '\0';
        } else {
            std::snprintf(buf, sizeof buf, "%.11f", quantize_probability(*r.probability));
        }
        add("-m statistic --mode random --probability " + std::string(buf));
    }
    if (!r.comment.empty())
        add("-m comment --comment " + (shell ? shell_quote(r.comment) : save_string(r.comment)));
    if (!r.target.empty()) add((r.goto_chain ? "-g " : "-j ") + q(r.target));
    if (r.target == "DNAT" && !r.to_destination.empty()) add("--to-destination " + q(r.to_destination));
    return s;
}

bool user_chain_less(const IptChain* a, const IptChain* b) { return a->name < b->name; }

}  // namespace

std::string render_rule(const std::string& chain, const net::IptRule& r) { return "-A " + chain + rule_spec(r, false); }

std::string render_table(const net::IptTable& t) {
    std::string out;
    const auto* builtins = builtin_chains(t.name);
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

    if (builtins) {
        for (const auto& name : *builtins) {
            std::string policy = "ACCEPT";
            for (const auto* ch : builtin_present)
                if (ch->name == name && !ch->policy.empty()) policy = ch->policy;
            out += "-P " + name + " " + policy + "\n";
        }
    }
    for (const auto* ch : user) out += "-N " + ch->name + "\n";
    for (const auto* ch : builtin_present)
        for (const auto& r : ch->rules) out += render_rule(ch->name, r) + "\n";
    for (const auto* ch : user)
        for (const auto& r : ch->rules) out += render_rule(ch->name, r) + "\n";
    return out;
}

std::string render_table(const net::Ruleset& rs, const std::string& table) {
    for (const auto& t : rs.tables)
        if (t.name == table) return render_table(t);
    return render_table(IptTable{table, {}});
}

net::Ruleset normalized(const net::Ruleset& rs) {
    Ruleset out;
    for (const auto& t : rs.tables) {
        if (t.chains.empty()) continue;
        IptTable nt{t.name, {}};
        std::vector<IptChain> builtin, user;
        for (const auto& ch : t.chains) {
            IptChain c = ch;
            for (auto& r : c.rules) r = canonical_rule(r);
            (c.builtin ? builtin : user).push_back(std::move(c));
        }
        std::stable_sort(builtin.begin(), builtin.end(), [&](const IptChain& a, const IptChain& b) {
            return builtin_index(t.name, a.name) < builtin_index(t.name, b.name);
        });
        std::stable_sort(user.begin(), user.end(),
                         [](const IptChain& a, const IptChain& b) { return a.name < b.name; });
        for (auto& c : builtin) nt.chains.push_back(std::move(c));
        for (auto& c : user) nt.chains.push_back(std::move(c));
        out.tables.push_back(std::move(nt));
    }
    std::stable_sort(out.tables.begin(), out.tables.end(),
                     [](const IptTable& a, const IptTable& b) { return a.name < b.name; });
    return out;
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

}  // namespace netlab::steps
