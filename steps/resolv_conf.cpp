// Step kind "resolv-conf": the per-namespace resolv.conf that `ip netns exec` bind-mounts over
// /etc/resolv.conf (/etc/netns/<ns>/resolv.conf). Unlike the article's `tee -a`, applying it twice
// does not duplicate the line. The prior file is journaled byte for byte (or its absence, and every
// directory made for it); undo puts back exactly what was there. Nothing ever queries the server.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "lab/fs.h"
#include "steps/common.h"
#include "steps/register.h"

namespace netlab::steps {

namespace fs = std::filesystem;

namespace {

const fs::path kEtcNetns = "/etc/netns";

// /etc/netns is shared by every lab on the machine (and by anyone else's `ip netns`). netlab marks it
// with an extended attribute when netlab made it, so that whichever lab leaves it empty last removes
// it, while a directory made by someone else is never removed.
constexpr const char* kMadeByNetlab = "user.netlab.made";

void mark_made_by_netlab(const fs::path& d) { ::setxattr(d.c_str(), kMadeByNetlab, "1", 1, 0); }

bool made_by_netlab(const fs::path& d) { return ::getxattr(d.c_str(), kMadeByNetlab, nullptr, 0) >= 0; }

// "l01-netns_dustin, l01-netns_leah" for what /etc/netns holds now.
std::string entries_of(const fs::path& d) {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(d, ec)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::string out;
    for (auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        if (l == line) return true;
    return false;
}

int count_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    std::string l;
    int n = 0;
    while (std::getline(in, l)) n += l == line;
    return n;
}

class ResolvConfAction : public lab::Action {
public:
    explicit ResolvConfAction(const Params& p) : ns_(p.str("ns")), nameserver_(p.str("nameserver")) {
        p.only({"ns", "nameserver"});
        check_ipv4(p, nameserver_);
    }
    std::string line() const { return "nameserver " + nameserver_; }
    fs::path dir(const LabNames& n) const { return kEtcNetns / n.ns(ns_); }
    std::string describe(const LabNames& n) const override {
        return "write '" + line() + "' to " + (dir(n) / "resolv.conf").string();
    }
    std::vector<std::string> commands(const LabNames& n) const override {
        std::string f = (dir(n) / "resolv.conf").string();
        return {"mkdir -p " + dir(n).string(),
                "grep -qxF '" + line() + "' " + f + " 2>/dev/null || echo '" + line() + "' >> " + f};
    }
    std::vector<std::string> keys(const LabNames& n) const override { return {"file:" + (dir(n) / "resolv.conf").string()}; }
    void makes(const LabNames& n, lab::LabInventory& inv) const override {
        inv.add_file((dir(n) / "resolv.conf").string(), line());
    }

    void apply(Context& ctx) override {
        fs::path d = dir(ctx.names);
        for (const fs::path& p : {kEtcNetns, d}) {
            if (fs::exists(p)) {
                if (!fs::is_directory(p)) throw Error("create directory " + p.string() + ": a file of that name exists");
                continue;
            }
            ctx.change_persistent("dir", {{"path", p.string()}}, [&] {
                if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST)
                    throw Error("create directory " + p.string() + ": " + errno_text(errno));
                if (p == kEtcNetns) mark_made_by_netlab(p);
            });
        }
        fs::path f = d / "resolv.conf";
        auto prior = lab::read_file(f);
        if (prior && has_line(*prior, line())) return;
        std::string next = prior.value_or("");
        if (!next.empty() && next.back() != '\n') next += '\n';
        next += line() + "\n";
        lab::RecordData data{{"path", f.string()}};
        unsigned mode = 0644;
        if (prior) {
            struct stat st {};
            if (::stat(f.c_str(), &st) == 0) mode = st.st_mode & 07777;
            data["prior_hex"] = lab::hex_encode(*prior);
            data["mode"] = std::to_string(mode);
        } else {
            data["absent"] = "1";
        }
        ctx.change_persistent("file", data, [&] { lab::write_file_atomic(f, next, mode); });
    }

    std::vector<Check> check(Context& ctx) override {
        fs::path f = dir(ctx.names) / "resolv.conf";
        auto text = lab::read_file(f);
        int n = text ? count_line(*text, line()) : 0;
        return {expect(n == 1, f.string() + " has '" + line() + "' once", "exactly one such line",
                       text ? std::to_string(n) + " such lines" : "no file")};
    }

private:
    std::string ns_, nameserver_;
};

}  // namespace

bool release_etc_netns() {
    if (!made_by_netlab(kEtcNetns)) return false;
    return ::rmdir(kEtcNetns.c_str()) == 0;  // fails, and keeps it, unless it is empty
}

void register_resolv_conf(lab::Registry& reg) {
    reg.add_action("resolv-conf", [](const Params& p) { return std::make_unique<ResolvConfAction>(p); });
    reg.add_undo("file", [](Context&, const lab::Record& r) {
        fs::path f = r.data.at("path");
        if (r.data.count("absent")) {
            lab::remove_file(f);
            return;
        }
        unsigned mode = r.data.count("mode") ? static_cast<unsigned>(std::stoul(r.data.at("mode"))) : 0644;
        lab::write_file_atomic(f, lab::hex_decode(r.data.at("prior_hex")), mode);
    });
    reg.add_undo("dir", [](Context& ctx, const lab::Record& r) {
        const fs::path p = r.data.at("path");
        if (::rmdir(p.c_str()) == 0 || errno == ENOENT) {
            // The last lab to leave /etc/netns empty removes it, whichever lab made it.
            if (p.parent_path() == kEtcNetns) release_etc_netns();
            return;
        }
        if (errno == ENOTEMPTY || errno == EEXIST) {
            // Files that are not this lab's: another lab's, or someone else's. Not ours to delete.
            if (ctx.out)
                *ctx.out << "      note: kept " << p.string() << ": it holds "
                         << (p == kEtcNetns ? "files of other labs or other programs (" + entries_of(p) + ")"
                                            : "files netlab did not make (" + entries_of(p) + ")")
                         << "\n";
            return;
        }
        throw Error("remove directory " + p.string() + ": " + errno_text(errno));
    });
}

}  // namespace netlab::steps
