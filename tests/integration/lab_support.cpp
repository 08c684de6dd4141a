#include "tests/integration/lab_support.h"

#include <unistd.h>

#include <regex>
#include <sstream>

namespace netlab::test {

namespace fs = std::filesystem;

const std::vector<std::string> kSteps = {"lab-host", "forwarding", "bridge", "netns", "dns", "veths", "routes",
                                         "forward-accept", "masquerade", "pods", "services-chain", "virtual-ip",
                                         "br-netfilter", "hairpin", "promisc", "service-chain", "endpoint-chain",
                                         "random-backends"};
const std::vector<std::string> kLogical = {"netlab", "netlab-world", "netns_dustin", "netns_leah"};

TestLab::TestLab(const std::string& tag, std::string tutorial)
    : name_("t" + std::to_string(::getpid() % 100000) + tag), tutorial_(std::move(tutorial)) {
    char tmpl[] = "/tmp/netlab-it-XXXXXX";
    state_ = ::mkdtemp(tmpl);
}

TestLab::~TestLab() {
    run("undo --all", 120);
    for (auto& l : kLogical)
        sh("ip netns pids " + ns(l) + " 2>/dev/null | xargs -r kill -9; ip netns del " + ns(l) + " 2>/dev/null; true");
    sh("pkill -9 -f '[n]etlab pod --lab " + name_ + " ' ; rm -rf /etc/netns/" + name_ + "-*; true");
    std::error_code ec;
    fs::remove_all(state_, ec);
}

std::string TestLab::cmd(const std::string& args) const {
    return "NETLAB_STATE_DIR=" + state_.string() + " " + netlab_bin() + " --lab " + name_ +
           (tutorial_.empty() ? "" : " --tutorial " + tutorial_) + " " + args;
}

std::string TestLab::snapshot(bool shared) const {
    std::string out;
    // Carrier flags and the qdisc are kernel artifacts, not configuration: a link that was ever up
    // keeps "noqueue" after it goes down again, and carrier follows the peer.
    auto norm = [](std::string s) {
        static const std::regex flags(R"(<([^>]*)>)");
        std::string kept;
        std::sregex_iterator it(s.begin(), s.end(), flags), end;
        size_t last = 0;
        for (; it != end; ++it) {
            kept += s.substr(last, it->position() - last);
            std::string list = (*it)[1], outl;
            size_t start = 0;
            while (start <= list.size()) {
                size_t comma = list.find(',', start);
                std::string f = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!f.empty() && f != "LOWER_UP" && f != "NO-CARRIER" && f != "M-DOWN") outl += (outl.empty() ? "" : ",") + f;
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            kept += "<" + outl + ">";
            last = it->position() + it->length();
        }
        s = kept + s.substr(last);
        static const std::regex ifindex(R"((^|\n)\d+: )"), peer(R"(@if\d+)"), mac(R"(([0-9a-f]{2}:){5}[0-9a-f]{2})"),
            state(R"( state [A-Za-z]+)"), qdisc(R"( qdisc \S+)"), nsid(R"( link-netns(id)? \S+)"),
            counters(R"(packets \d+ bytes \d+)"), lft(R"(\s*valid_lft \S+ preferred_lft \S+)"), back(R"(\\)");
        for (auto* re : {&ifindex}) s = std::regex_replace(s, *re, "$1");
        for (auto* re : {&peer, &mac, &state, &qdisc, &nsid, &lft, &back}) s = std::regex_replace(s, *re, "");
        s = std::regex_replace(s, counters, "packets N bytes N");
        return s;
    };
    auto present = sh("ip netns list").out;
    for (auto& l : kLogical) {
        std::string n = ns(l);
        out += "== netns " + l + "\n";
        if (!std::regex_search(present, std::regex("(^|\n)" + n + "( |\n|$)"))) {
            out += "(absent)\n";
            continue;
        }
        // `ip link` names a veth peer's namespace by asking the kernel about every file under
        // /run/netns; one that another lab is just making (an empty file, not yet a bind mount)
        // makes it print this error instead: not a property of this lab.
        out += norm(sh("ip -n " + n + " -o link show 2>&1 | grep -v '^Error: Peer netns reference is invalid'").out);
        out += norm(sh("ip -n " + n + " -4 -o addr show").out);
        out += sh("ip -n " + n + " -4 route show table all").out;
        out += norm(sh("bridge -n " + n + " -d link show 2>/dev/null | grep -o 'hairpin [a-z]*'").out);
        out += sh("ip netns exec " + n + " cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables").out;
        out += sh("ip netns exec " + n + " iptables-nft -t nat -S 2>&1; ip netns exec " + n + " iptables-nft -t filter -S 2>&1").out;
        out += norm(sh("ip netns exec " + n + " nft list ruleset 2>&1").out);
    }
    out += "== files\n" + sh("cd /etc/netns 2>/dev/null && find . -path './" + name_ + "-*' -printf '%p %m\\n' -exec cat {} \\; 2>/dev/null | sort").out;
    if (shared) out += "== etc/netns exists: " + std::string(fs::exists("/etc/netns") ? "yes" : "no") + "\n";
    out += "== pods\n" + sh("pgrep -af '[n]etlab pod --lab " + name_ + " ' | sed 's/^[0-9]* //' | sed 's/^[^ ]*netlab /netlab /' | "
                               // netlab run hands a pod its listening socket and a readiness pipe; a script starts it plain
                               "sed 's/ --listen-fd [0-9]*//; s/ --ready-fd [0-9]*//' | sort").out;
    return out;
}

std::string first_diff(const std::string& a, const std::string& b) {
    std::istringstream ia(a), ib(b);
    std::string la, lb;
    int n = 0;
    while (true) {
        bool ga = static_cast<bool>(std::getline(ia, la)), gb = static_cast<bool>(std::getline(ib, lb));
        ++n;
        if (!ga && !gb) return "";
        if (!ga || !gb || la != lb)
            return "line " + std::to_string(n) + ":\n  expected: " + (ga ? la : "<end>") + "\n  observed: " + (gb ? lb : "<end>");
    }
}

}  // namespace netlab::test
