// Step kind "pod": starts netlab's HTTP pod (`netlab pod ...`) inside a namespace, detached so it
// outlives the netlab command, and waits until it answers. Its pid and start time are journaled so
// that undo never signals a recycled pid; a pod whose start was interrupted before its pid was
// journaled is found by its exact command line and namespace.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "lab/error.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "steps/common.h"
#include "steps/pod.h"
#include "steps/register.h"

namespace netlab::steps {

namespace fs = std::filesystem;
namespace bp = boost::process;

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), and the state letter.
static bool proc_stat(int pid, std::string& start, char& state) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(in, s)) return false;
    auto rp = s.rfind(')');
    if (rp == std::string::npos) return false;
    std::istringstream rest(s.substr(rp + 2));
    std::string f;
    rest >> state;
    for (int i = 4; i <= 22 && rest >> f; ++i)
        if (i == 22) start = f;
    return !start.empty();
}

static std::vector<std::string> proc_cmdline(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::vector<std::string> out;
    std::string arg;
    while (std::getline(in, arg, '\0')) out.push_back(arg);
    return out;
}

bool pod_alive(int pid, const std::string& start) {
    std::string st;
    char state = 0;
    if (!proc_stat(pid, st, state)) return false;
    return st == start && state != 'Z' && state != 'X';
}

std::vector<std::string> pod_args(const std::string& lab, const std::string& name, int port) {
    return {"pod", "--lab", lab, "--name", name, "--port", std::to_string(port)};
}

// `netlab pod --lab LAB --name NAME ...` processes; any name when `name` is empty.
static std::vector<int> scan_pods(const std::string& lab, const std::string& name) {
    std::vector<int> out;
    for (auto& e : fs::directory_iterator("/proc")) {
        std::string d = e.path().filename().string();
        if (d.find_first_not_of("0123456789") != std::string::npos) continue;
        auto argv = proc_cmdline(std::stoi(d));
        if (argv.size() < 5 || argv[1] != "pod" || fs::path(argv[0]).filename() != "netlab") continue;
        bool lab_ok = false, name_ok = name.empty();
        for (size_t i = 2; i + 1 < argv.size(); ++i) {
            if (argv[i] == "--lab" && argv[i + 1] == lab) lab_ok = true;
            if (argv[i] == "--name" && argv[i + 1] == name) name_ok = true;
        }
        if (lab_ok && name_ok) out.push_back(std::stoi(d));
    }
    return out;
}

std::vector<int> find_pods(const std::string& lab, const std::string& name) { return scan_pods(lab, name); }

std::vector<int> find_lab_pods(const std::string& lab) { return scan_pods(lab, ""); }

void stop_found_pod(int pid) {
    std::string start;
    char state = 0;
    if (proc_stat(pid, start, state)) stop_pod(pid, start);
}

void stop_pod(int pid, const std::string& start) {
    if (!pod_alive(pid, start)) {
        ::waitpid(pid, nullptr, WNOHANG);  // reap it if it was our child
        return;
    }
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // up to 2 s
        ::waitpid(pid, nullptr, WNOHANG);
        if (!pod_alive(pid, start)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100; ++i) {
        ::waitpid(pid, nullptr, WNOHANG);
        if (!pod_alive(pid, start)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw Error("stop pod pid " + std::to_string(pid) + ": it does not exit");
}

namespace {

class PodAction : public lab::Action {
public:
    explicit PodAction(const Params& p)
        : ns_(p.str("ns")), name_(p.str_or("name", ns_)), port_(static_cast<int>(p.integer_or("port", 8080))) {
        p.only({"ns", "name", "port"});
        if (port_ < 1 || port_ > 65535) p.fail("bad port " + std::to_string(port_));
    }
    std::string describe(const LabNames& n) const override {
        return "start HTTP pod " + name_ + " on port " + std::to_string(port_) + " in " + where_text(n, ns_);
    }
    // Started like apply() starts it: this netlab binary, in a session of its own, detached; then
    // waited for (at most 5 s) until it answers.
    std::vector<std::string> commands(const LabNames& n) const override {
        std::error_code ec;
        fs::path self = fs::read_symlink("/proc/self/exe", ec);
        std::string c = in_ns(n, ns_) + "setsid " + (ec ? std::string("netlab") : self.string());
        for (auto& a : pod_args(n.lab, name_, port_)) c += " " + a;
        std::string url = "127.0.0.1:" + std::to_string(port_);
        return {c + " >/dev/null 2>&1 < /dev/null &",
                "for i in $(seq 50); do " + in_ns(n, ns_) + "curl -s -o /dev/null --max-time 1 " + url +
                    " && break; sleep 0.1; done"};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        return {"pod:" + n.ns(ns_) + ":" + std::to_string(port_)};
    }

    // A pod of this lab and name that runs already is not in the journal: left by a lost journal.
    void preflight(Context& ctx) override {
        auto pids = find_pods(ctx.names.lab, name_);
        if (pids.empty()) return;
        throw Error("start pod " + name_ + ": a pod of that name runs already (pid " + std::to_string(pids.front()) +
                        ") and the journal of lab '" + ctx.names.lab + "' does not have it",
                    "run `netlab reset" + std::string(ctx.names.lab == "default" ? "" : " --lab " + ctx.names.lab) +
                        "` to remove what the lab left behind, then run again");
    }

    void apply(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        fs::path logdir = ctx.state_dir / "pods";
        fs::create_directories(logdir);
        fs::path log = logdir / (real + "-" + std::to_string(port_) + ".log");
        ctx.change_learning("pod", {{"ns", real}, {"lab", ctx.names.lab}, {"name", name_}, {"port", std::to_string(port_)},
                                    {"log", log.string()}},
                            [&]() -> lab::RecordData {
                                int pid = spawn(ctx, real, log);
                                lab::Journal::maybe_fault();  // running, its pid not journaled yet
                                std::string start;
                                char state = 0;
                                if (!proc_stat(pid, start, state))
                                    throw Error("start pod " + name_ + " in netns " + real + ": it exited at once; see " + log.string());
                                wait_ready(real, pid, start, log);
                                return {{"pid", std::to_string(pid)}, {"start", start}};
                            });
    }

    std::vector<Check> verify(Context& ctx) override {
        const std::string real = ctx.names.ns(ns_);
        std::vector<Check> out;
        net::NetnsGuard g(real);
        auto r = pods::http_get("127.0.0.1", static_cast<uint16_t>(port_), "/", std::chrono::milliseconds(1000));
        bool ok = r.ok && r.pod == name_;
        out.push_back(expect(ok, "pod " + name_ + " answers on port " + std::to_string(port_) + " in netns " + real,
                             "a reply from pod " + name_, r.ok ? "a reply from '" + r.pod + "'" : r.error));
        return out;
    }

private:
    int spawn(Context& ctx, const std::string& real, const fs::path& log) {
        net::NetnsGuard g(real);  // the child inherits this thread's network namespace
        std::error_code ec;
        bp::child c(ctx.self_exe.string(), bp::args(pod_args(ctx.names.lab, name_, port_)), bp::std_in < bp::null,
                    (bp::std_out & bp::std_err) > log.string(),
                    bp::extend::on_exec_setup = [](auto&) { ::setsid(); }, ec);
        if (ec) throw Error("start pod " + name_ + " in netns " + real + ": " + ec.message());
        int pid = c.id();
        c.detach();
        return pid;
    }

    void wait_ready(const std::string& real, int pid, const std::string& start, const fs::path& log) {
        net::NetnsGuard g(real);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        std::string last;
        while (std::chrono::steady_clock::now() < deadline) {
            if (!pod_alive(pid, start)) {
                ::waitpid(pid, nullptr, WNOHANG);
                auto text = std::ifstream(log);
                std::string l, all;
                while (std::getline(text, l)) all += l + " ";
                throw Error("start pod " + name_ + " in netns " + real + ": it exited: " + all);
            }
            auto r = pods::http_get("127.0.0.1", static_cast<uint16_t>(port_), "/", std::chrono::milliseconds(300));
            if (r.ok) return;
            last = r.error;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw Error("start pod " + name_ + " in netns " + real + ": not answering after 5 s (" + last + ")");
    }

    std::string ns_, name_;
    int port_;
};

}  // namespace

void register_pod(lab::Registry& reg) {
    reg.add_action("pod", [](const Params& p) { return std::make_unique<PodAction>(p); });
    reg.add_undo("pod", [](Context&, const lab::Record& r) {
        if (r.data.count("pid") && r.data.count("start")) {
            stop_pod(std::stoi(r.data.at("pid")), r.data.at("start"));
        } else {
            // Interrupted between start and journal: find it by its exact command line.
            for (int pid : find_pods(r.data.at("lab"), r.data.at("name"))) stop_found_pod(pid);
        }
        if (r.data.count("log")) {
            std::error_code ec;
            fs::remove(r.data.at("log"), ec);
        }
    });
}

}  // namespace netlab::steps
