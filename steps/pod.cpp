// Step kind "pod": starts netlab's HTTP pod (`netlab pod ...`) inside a namespace, detached so it
// outlives the netlab command. Socket activation, the systemd way: netlab itself makes the pod's
// listening socket in the namespace before the pod runs, so connections queue in its backlog from
// then on and nothing is polled; the pod inherits it as fd 3 and says on a pipe (fd 4) that it
// serves. Its pid and start time are journaled so that undo never signals a recycled pid; a pod
// whose start was interrupted before its pid was journaled is found by its command line.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

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

// Reaps PID when it is our own child that exited (a zombie with that start time): the pid cannot
// have been reused while it is unreaped.
static void reap_exited(int pid, const std::string& start) {
    std::string st;
    char state = 0;
    if (proc_stat(pid, st, state) && st == start && state == 'Z') ::waitpid(pid, nullptr, WNOHANG);
}

// Waits up to `ms` for the process behind `pidfd` to exit: a pidfd becomes readable then, whether
// or not the process is our child. Reaps it when it is our child.
static bool wait_exit(const net::UniqueFd& pidfd, int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{pidfd.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n > 0) {
            siginfo_t info{};
            ::waitid(static_cast<idtype_t>(P_PIDFD), pidfd.get(), &info, WEXITED | WNOHANG);
            return true;
        }
        if (n == 0 || errno != EINTR || left.count() <= 0) return false;
    }
}

void stop_pod(int pid, const std::string& start) {
    if (!pod_alive(pid, start)) return reap_exited(pid, start);
    net::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        if (errno == ESRCH) return;  // gone since the first look
        throw Error("stop pod pid " + std::to_string(pid) + ": pidfd_open: " + errno_text(errno));
    }
    // Looked at again with the pidfd open: it now surely refers to the process with that start time.
    if (!pod_alive(pid, start)) return reap_exited(pid, start);
    for (auto [sig, ms] : {std::pair{SIGTERM, 2000}, std::pair{SIGKILL, 1000}}) {
        ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);  // ESRCH: exited, the wait sees it
        if (wait_exit(pidfd, ms)) return;
    }
    throw Error("stop pod pid " + std::to_string(pid) + ": it does not exit");
}

// The descriptors the pod inherits (socket activation) and how long its start may take.
constexpr int kListenFd = 3;
constexpr int kReadyFd = 4;
constexpr int kReadyMs = 5000;

// `fd` moved above the descriptors a child gets (so that putting them in place never overwrites
// one of them), close-on-exec: only the child's own copies are inherited.
static net::UniqueFd above_child_fds(net::UniqueFd fd, const std::string& what) {
    net::UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
    if (!high) throw Error(what + ": fcntl F_DUPFD_CLOEXEC: " + errno_text(errno));
    return high;
}

// The pod's listening socket on 0.0.0.0:PORT, made in the calling thread's network namespace.
// Bound and listening before the pod runs: connections queue in its backlog from now on.
static net::UniqueFd listen_socket(int port, const std::string& what) {
    const std::string where = " 0.0.0.0:" + std::to_string(port);
    auto fail = [&](const std::string& op) { throw Error(what + ": " + op + where + ": " + errno_text(errno)); };
    net::UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) fail("open a socket for");
    int one = 1;
    if (::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("set SO_REUSEADDR on");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
    if (::listen(s.get(), SOMAXCONN) != 0) fail("listen on");  // the backlog the pod's own listen uses
    return above_child_fds(std::move(s), what);
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
    struct Started {
        int pid = -1;
        net::UniqueFd ready;  // the read end of the pod's ready pipe
    };

    std::string what(const std::string& real) const { return "start pod " + name_ + " in netns " + real; }

    // The socket and the ready pipe are made here, the pod gets them as fds 3 and 4 and is the
    // only holder once this returns. The child inherits this thread's network namespace.
    Started spawn(Context& ctx, const std::string& real, const fs::path& log) {
        net::NetnsGuard g(real);
        net::UniqueFd sock = listen_socket(port_, what(real));
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw Error(what(real) + ": pipe: " + errno_text(errno));
        net::UniqueFd ready_r(p[0]), ready_w = above_child_fds(net::UniqueFd(p[1]), what(real));
        auto args = pod_args(ctx.names.lab, name_, port_);
        args.insert(args.end(), {"--listen-fd", std::to_string(kListenFd), "--ready-fd", std::to_string(kReadyFd)});
        std::error_code ec;
        bp::child c(ctx.self_exe.string(), bp::args(args), bp::std_in < bp::null, (bp::std_out & bp::std_err) > log.string(),
                    bp::extend::on_exec_setup = [s = sock.get(), w = ready_w.get()](auto& exec) {
                        // In the child: a session of its own; dup2 clears close-on-exec on the copies
                        // only; every other descriptor above them closes on exec (no stray fd leaks).
                        ::setsid();
                        if (::dup2(s, kListenFd) < 0 || ::dup2(w, kReadyFd) < 0) {
                            exec.set_error(std::error_code(errno, std::system_category()), "dup2");
                            ::_exit(127);
                        }
                        ::close_range(kReadyFd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
                    },
                    ec);
        if (ec) throw Error(what(real) + ": " + ec.message());
        int pid = c.id();
        c.detach();
        return {pid, std::move(ready_r)};
    }

    // Waits (at most 5 s, no polling) for the pod's one byte on the ready pipe. EOF first: it exited.
    void wait_ready(const std::string& real, Started& pod, const fs::path& log) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyMs);
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                throw Error(what(real) + ": not serving after " + std::to_string(kReadyMs / 1000) + " s; see " + log.string());
            pollfd p{pod.ready.get(), POLLIN, 0};
            int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n < 0 && errno != EINTR) throw Error(what(real) + ": poll: " + errno_text(errno));
            if (n <= 0) continue;  // interrupted, or the deadline: looked at above
            char byte = 0;
            ssize_t r = ::read(pod.ready.get(), &byte, 1);
            if (r == 1) return;
            if (r < 0 && errno == EINTR) continue;
            reap(pod.pid);
            throw Error(what(real) + ": it exited: " + log_text(log));
        }
    }

    // Our child that closed its ready pipe without a byte is exiting: wait for it (bounded) and reap it.
    static void reap(int pid) {
        net::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        if (pidfd) wait_exit(pidfd, 1000);
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
