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

std::vector<int> find_pods(const std::string& lab, const std::string& name) {
    std::vector<int> out;
    for (auto& e : fs::directory_iterator("/proc")) {
        std::string d = e.path().filename().string();
        if (d.find_first_not_of("0123456789") != std::string::npos) continue;
        auto argv = proc_cmdline(std::stoi(d));
        if (argv.size() < 5 || argv[1] != "pod") continue;
        bool lab_ok = false, name_ok = false;
        for (size_t i = 2; i + 1 < argv.size(); ++i) {
            if (argv[i] == "--lab" && argv[i + 1] == lab) lab_ok = true;
            if (argv[i] == "--name" && argv[i + 1] == name) name_ok = true;
        }
        if (lab_ok && name_ok) out.push_back(std::stoi(d));
    }
    return out;
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
    std::vector<std::string> commands(const LabNames& n) const override {
        std::string c = in_ns(n, ns_) + "netlab";
        for (auto& a : pod_args(n.lab, name_, port_)) c += " " + a;
        return {c + " &"};
    }
    std::vector<std::string> keys(const LabNames& n) const override {
        return {"pod:" + n.ns(ns_) + ":" + std::to_string(port_)};
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
            for (int pid : find_pods(r.data.at("lab"), r.data.at("name"))) {
                std::string start;
                char state = 0;
                if (proc_stat(pid, start, state)) stop_pod(pid, start);
            }
        }
        if (r.data.count("log")) {
            std::error_code ec;
            fs::remove(r.data.at("log"), ec);
        }
    });
}

}  // namespace netlab::steps
