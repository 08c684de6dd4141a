#include "rules/listing.h"

#include "rules/probability.h"

namespace netlab::rules {

namespace {

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s : s + std::string(width - s.size(), ' '); }

// xtables_print_num with FMT_KILOMEGAGIGA, in the table: right-aligned in 5 columns, then a space.
std::string count_cell(uint64_t n) {
    std::string s = count_text(n);
    return std::string(s.size() < 5 ? 5 - s.size() : 0, ' ') + s + " ";
}

std::string proto_number(const std::string& proto) {
    if (proto == "tcp") return "6";
    if (proto == "udp") return "17";
    return proto.empty() ? "0" : proto;
}

// -n prints an address without "/32" and "0.0.0.0/0" for any.
std::string address_cell(const std::string& cidr) {
    if (cidr.empty()) return "0.0.0.0/0";
    if (cidr.ends_with("/32")) return cidr.substr(0, cidr.size() - 3);
    return cidr;
}

std::string matches(const IptRule& r) {
    std::string s;
    if (!r.proto.empty() && (r.match_proto || r.sport || r.dport)) {
        s += " " + r.proto;
        if (r.sport) s += " spt:" + std::to_string(*r.sport);
        if (r.dport) s += " dpt:" + std::to_string(*r.dport);
    }
    if (r.probability) s += " statistic mode random probability " + format_probability(*r.probability);
    if (!r.comment.empty()) s += " /* " + r.comment + " */";
    if (r.target == "DNAT" && !r.to_destination.empty()) s += " to:" + r.to_destination;
    return s;
}

}  // namespace

std::string listing_chain_header(const std::string& name, bool builtin, const std::string& policy, int references) {
    if (builtin) return "Chain " + name + " (policy " + (policy.empty() ? "ACCEPT" : policy) + " 0 packets, 0 bytes)\n";
    return "Chain " + name + " (" + std::to_string(references) + " references)\n";
}

std::string listing_columns() {
    return " pkts bytes target     prot opt in     out     source               destination         \n";
}

std::string listing_counters(uint64_t packets, uint64_t bytes) { return count_cell(packets) + count_cell(bytes); }

std::string listing_rule(const IptRule& x) {
    std::string s = pad(x.target, 9) + " " + " " + pad(proto_number(x.proto), 5) + "-- ";
    s += " " + pad(x.in_iface.empty() ? "*" : x.in_iface, 6) + " " + pad(x.out_iface.empty() ? "*" : x.out_iface, 6) + " ";
    s += " " + pad(address_cell(x.src), 19) + " " + " " + pad(address_cell(x.dst), 19) + " ";
    if (x.goto_chain) s += "[goto] ";
    return s + matches(x);
}

std::string count_text(uint64_t n) {
    if (n <= 99999) return std::to_string(n);
    const char* units = "KMGT";
    for (int i = 0; i < 4; ++i) {
        n = (n + 500) / 1000;
        if (n <= 9999 || i == 3) return std::to_string(n) + units[i];
    }
    return std::to_string(n);
}

}  // namespace netlab::rules
