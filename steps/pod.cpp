// Step kind "pod": starts netlab's HTTP pod (`netlab pod ...`) inside a namespace, detached so it
// outlives the netlab command. Socket activation, the systemd way: netlab itself makes the pod's
// listening socket in the namespace before the pod runs, so connections queue in its backlog from
// then on and nothing is polled; the pod inherits it as fd 3 and says on a pipe (fd 4) that it
// serves. Its pid and start time are journaled so that undo never signals a recycled pid; a pod
// whose start was interrupted before its pid was journaled is found by its command line.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "netutil/child_fds.h"
#include "netutil/netns.h"
#include "netutil/pidfd.h"
#include "netutil/pipe.h"
#include "netutil/tcp_listen.h"
#include "pods/http_client.h"
#include "steps/common.h"
#include "steps/pod.h"
#include "steps/register.h"

namespace netlab::steps {

namespace fs = std::filesystem;
namespace bp = boost::process;
using namespace std::chrono_literals;

// FN's result; a netlab::Error it throws gets "WHAT: " in front of its message.
template <class F>
static auto with_context(const std::string& what, F&& fn) {
    try {
        return fn();
    } catch (const Error& e) {
        throw Error(what + ": " + e.what(), e.hint());
    }
}

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

// Reaps PID when it is our own child that exited (a zombie with that start time): the pid cannot
// have been reused while it is unreaped.
static void reap_exited(int pid, const std::string& start) {
    std::string st;
    char state = 0;
    if (proc_stat(pid, st, state) && st == start && state == 'Z') ::waitpid(pid, nullptr, WNOHANG);
}

void stop_pod(int pid, const std::string& start) {
    if (!pod_alive(pid, start)) return reap_exited(pid, start);
    const std::string what = "stop pod pid " + std::to_string(pid);
    net::Pidfd pidfd = with_context(what, [pid] { return net::Pidfd(pid); });
    if (!pidfd) return;  // gone since the first look
    // Looked at again with the pidfd open: it now surely refers to the process with that start time.
    if (!pod_alive(pid, start)) return reap_exited(pid, start);
    for (auto [sig, timeout] : {std::pair{SIGTERM, 2000ms}, std::pair{SIGKILL, 1000ms}}) {
        pidfd.send_signal(sig);  // fails when it exited: the wait sees that
        if (pidfd.wait_exit(timeout)) return;
    }
    throw Error(what + ": it does not exit");
}

// The descriptors the pod inherits (socket activation), the lowest number its parent keeps them at
// meanwhile (so that putting them in place never overwrites one), and how long its start may take.
constexpr int kListenFd = 3;
constexpr int kReadyFd = 4;
constexpr int kAboveChildFds = 10;
constexpr auto kReadyTimeout = 5000ms;

// The pod's descriptors, held close-on-exec above the ones it gets: only its own copies are inherited.
struct PodFds {
    UniqueFd listen, ready_r, ready_w;
};

// The pod's listening socket on 0.0.0.0:PORT, made in the calling thread's network namespace, bound
// and listening before the pod runs (connections queue in its backlog from now on; SOMAXCONN is the
// backlog the pod's own listen uses), and its ready pipe.
static PodFds pod_fds(int port) {
    UniqueFd sock = net::fd_above(net::tcp_listen("0.0.0.0", static_cast<uint16_t>(port)), kAboveChildFds);
    net::Pipe ready = net::make_pipe();
    return {std::move(sock), std::move(ready.read_end), net::fd_above(std::move(ready.write_end), kAboveChildFds)};
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
    // Started with this netlab binary, in a session of its own, detached, binding its own socket
    // (apply() makes the socket itself, the kernel state is the same); then waited for (at most 5 s)
    // until it answers.
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
    void makes(const LabNames& n, lab::LabInventory& inv) const override {
        inv.add_pod({n.ns(ns_), name_, static_cast<uint16_t>(port_)});
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
                                Started pod = spawn(ctx, real, log);
                                lab::Journal::maybe_fault();  // running, its pid not journaled yet
                                std::string start;
                                char state = 0;
                                if (!proc_stat(pod.pid, start, state))
                                    throw Error(what(real) + ": it exited at once; see " + log.string());
                                wait_ready(real, pod, log);
                                return {{"pid", std::to_string(pod.pid)}, {"start", start}};
                            });
    }

    std::vector<Check> check(Context& ctx) override {
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
    struct Started {
        int pid = -1;
        UniqueFd ready;  // the read end of the pod's ready pipe
    };

    std::string what(const std::string& real) const { return "start pod " + name_ + " in netns " + real; }

    // The socket and the ready pipe are made here, the pod gets them as fds 3 and 4 and is the
    // only holder once this returns. The child inherits this thread's network namespace.
    Started spawn(Context& ctx, const std::string& real, const fs::path& log) {
        net::NetnsGuard g(real);
        PodFds fds = with_context(what(real), [this] { return pod_fds(port_); });
        auto args = pod_args(ctx.names.lab, name_, port_);
        args.insert(args.end(), {"--listen-fd", std::to_string(kListenFd), "--ready-fd", std::to_string(kReadyFd)});
        std::error_code ec;
        bp::child c(ctx.self_exe.string(), bp::args(args), bp::std_in < bp::null, (bp::std_out & bp::std_err) > log.string(),
                    bp::extend::on_exec_setup = [s = fds.listen.get(), w = fds.ready_w.get()](auto& exec) {
                        // In the child: a session of its own, the socket and the pipe as fds 3 and 4.
                        ::setsid();
                        if (!net::place_for_exec(kListenFd, {s, w})) {
                            exec.set_error(std::error_code(errno, std::system_category()), "dup2");
                            ::_exit(127);
                        }
                    },
                    ec);
        if (ec) throw Error(what(real) + ": " + ec.message());
        int pid = c.id();
        c.detach();
        return {pid, std::move(fds.ready_r)};
    }

    // Waits (at most 5 s, no polling) for the pod's one byte on the ready pipe. EOF first: it exited.
    void wait_ready(const std::string& real, Started& pod, const fs::path& log) {
        int n = net::poll_until(pod.ready.get(), std::chrono::steady_clock::now() + kReadyTimeout);
        if (n < 0) throw Error(what(real) + ": poll: " + errno_text(errno));
        if (n == 0)
            throw Error(what(real) + ": not serving after " + std::to_string(kReadyTimeout / 1s) + " s; see " +
                        log.string());
        char byte = 0;
        if (net::read_byte(pod.ready, byte) == 1) return;
        reap(pod.pid);
        throw Error(what(real) + ": it exited: " + log_text(log));
    }

    // Our child that closed its ready pipe without a byte is exiting: wait for it (bounded) and reap
    // it. Best effort: that it exited is the error the caller reports, whatever happens here.
    static void reap(int pid) {
        try {
            if (net::Pidfd pidfd(pid); pidfd) pidfd.wait_exit(1000ms);
        } catch (const Error&) {
        }
    }

    // The pod's log on one line, for an error message.
    static std::string log_text(const fs::path& log) {
        std::ifstream text(log);
        std::string l, all;
        while (std::getline(text, l)) all += (all.empty() ? "" : " ") + l;
        return all.empty() ? "nothing in its log " + log.string() : all;
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
