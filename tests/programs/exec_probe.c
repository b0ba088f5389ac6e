// Starts DIR/NAME one way, for static_check.sh and supervise_tree.sh:
// exec_probe MODE DIR NAME [ARG...] (ARGs follow NAME in the program's argv).
//   spawn-chdir    posix_spawn("./NAME") with a chdir(DIR) file action
//   spawnp-chdir   posix_spawnp("NAME"), PATH=".", with a chdir(DIR) file action
//   spawn-fchdir   posix_spawn("./NAME") with an fchdir(open(DIR)) file action
//   spawn-badfchdir  the same with the descriptor closed first: nothing to follow
//   syscall-execve    syscall(SYS_execve, "DIR/NAME", ...)
//   syscall-execveat  syscall(SYS_execveat, open(DIR), "NAME", ..., 0)
//   execveat          execveat(open(DIR), "NAME", ..., 0)
//   fexecve           fexecve(open("DIR/NAME", O_PATH), ...)
//   execveat-empty    execveat(open("DIR/NAME", O_RDONLY), "", ..., AT_EMPTY_PATH)
// Prints one line: "MODE EACCES" when refused with EACCES, "MODE exit N" when the
// program ran and exited, "MODE errno N" for another failure. The exec modes run in a
// forked child, which reports a failed exec as exit 100 + errno.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int report(const char* mode, int status) {
    if (!WIFEXITED(status)) {
        printf("%s signal %d\n", mode, WTERMSIG(status));
    } else if (WEXITSTATUS(status) == 100 + EACCES) {
        printf("%s EACCES\n", mode);
    } else if (WEXITSTATUS(status) > 100) {
        printf("%s errno %d\n", mode, WEXITSTATUS(status) - 100);
    } else {
        printf("%s exit %d\n", mode, WEXITSTATUS(status));
    }
    return 0;
}

static char** program_argv;  // NAME ARG... NULL

static int spawn(const char* mode, const char* dir, const char* name) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    char rel[4096];
    snprintf(rel, sizeof rel, "./%s", name);
    const char* file = rel;
    int (*fn)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
              char* const*, char* const*) = posix_spawn;
    if (strcmp(mode, "spawn-fchdir") == 0 || strcmp(mode, "spawn-badfchdir") == 0) {
        int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) return perror(dir), 1;
        if (mode[6] == 'b') posix_spawn_file_actions_addclose(&fa, d);
        posix_spawn_file_actions_addfchdir_np(&fa, d);
    } else {
        posix_spawn_file_actions_addchdir_np(&fa, dir);
    }
    if (strcmp(mode, "spawnp-chdir") == 0) {
        setenv("PATH", ".", 1);  // the child's directory, searched after the chdir
        file = name;
        fn = posix_spawnp;
    }
    char** argv = program_argv;
    pid_t pid;
    fflush(stdout);
    int err = fn(&pid, file, &fa, NULL, argv, environ);
    if (err == EACCES) return printf("%s EACCES\n", mode), 0;
    if (err != 0) return printf("%s errno %d\n", mode, err), 0;
    int status = 0;
    waitpid(pid, &status, 0);
    return report(mode, status);
}

static void exec_in_child(const char* mode, const char* dir, const char* name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char** argv = program_argv;
    if (strcmp(mode, "syscall-execve") == 0) {
        syscall(SYS_execve, path, argv, environ);
    } else if (strcmp(mode, "syscall-execveat") == 0 || strcmp(mode, "execveat") == 0) {
        int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) _exit(100 + errno);
        if (mode[0] == 's')
            syscall(SYS_execveat, d, name, argv, environ, 0);
        else
            execveat(d, name, argv, environ, 0);
    } else if (strcmp(mode, "fexecve") == 0) {
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) _exit(100 + errno);
        fexecve(fd, argv, environ);
    } else if (strcmp(mode, "execveat-empty") == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) _exit(100 + errno);
        execveat(fd, "", argv, environ, AT_EMPTY_PATH);
    } else {
        _exit(99);
    }
    _exit(100 + errno);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: exec_probe MODE DIR NAME [ARG...]\n");
        return 2;
    }
    program_argv = argv + 3;
    const char* mode = argv[1];
    if (strncmp(mode, "spawn", 5) == 0) return spawn(mode, argv[2], argv[3]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) exec_in_child(mode, argv[2], argv[3]);
    int status = 0;
    waitpid(pid, &status, 0);
    return report(mode, status);
}
