#include "rules/options.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/error.h"

namespace netlab::rules {

namespace {

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

}  // namespace

std::string display_name(Opt o) {
    for (const auto& s : kOpts)
        if (s.opt == o) return s.short_name ? std::string("-") + s.short_name : std::string("--") + s.long_name;
    return "?";
}

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

}  // namespace netlab::rules
