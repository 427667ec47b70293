//! Deleting, overwriting and re-permissioning files and devices.

use super::{Family::Filesystem as F, Rule};
use crate::event::Verdict::{Block, RequireApproval, Warn};

pub const RM_ROOT: Rule = Rule {
    id: "rm-root",
    family: F,
    verdict: Block,
    explanation: "`rm -r`, `find -delete`, `rsync --delete` or an interpreter's recursive delete of `/`, a system directory, a home directory or one of its top folders, or the whole workspace (paths normalised: `..`, `~`, `$HOME`, `$PWD`, `//`, a tracked `cd`).",
    suggestion: "Delete only specific paths inside the workspace, e.g. `rm -r ./build`.",
    fires: &[
        "rm -rf /",
        "rm -rf ~",
        "rm -rf ~/.ssh",
        "rm -rf /tmp/../etc",
        "rm -rf $HOME/Documents",
        "cd / && rm -rf *",
        "rm -rf ./*",
        "find . -delete",
        "find ~ -delete",
    ],
    near_misses: &["rm -rf ./build", "rm -rf /tmp/x", "rm -f ~/notes.txt", "find . -name '*.pyc' -delete"],
};
pub const RM_RECURSIVE: Rule = Rule {
    id: "rm-recursive",
    family: F,
    verdict: RequireApproval,
    explanation: "A recursive delete of a tree that is neither a regenerable artifact (`node_modules`, `target`, `dist`, …) nor under a temp directory: it may hold uncommitted work.",
    suggestion: "Delete regenerable artifacts only (e.g. `rm -rf ./build`), or ask the user before removing source trees.",
    fires: &["rm -rf src", "rm -r docs/old", "rm -rf ../sibling-project", "rm -r lib/old"],
    near_misses: &["rm -rf node_modules", "rm -rf /tmp/cache", "rm notes.txt", "rm -rf target dist"],
};
pub const RM_UNBOUNDED: Rule = Rule {
    id: "rm-unbounded",
    family: F,
    verdict: Warn,
    explanation:
        "A non-recursive delete whose targets are globs, variables or more than three files.",
    suggestion: "Name the files to delete explicitly instead of using globs or variables.",
    fires: &["rm -f *.log", "rm a b c d e"],
    near_misses: &["rm a.log", "rm -f build/app.o", "rm --help"],
};
pub const FIND_DELETE: Rule = Rule {
    id: "find-delete",
    family: F,
    verdict: Warn,
    explanation: "`find … -delete` or `-exec rm` narrowed by a predicate, inside the workspace.",
    suggestion: "Run the same `find` without `-delete`/`-exec rm` first to review the matches.",
    fires: &[
        "find src -name '*.orig' -delete",
        "find . -name '*.bak' -exec rm {} +",
    ],
    near_misses: &["find . -name '*.bak'", "find . -name '*.pyc' -delete"],
};
pub const MKFS: Rule = Rule {
    id: "mkfs",
    family: F,
    verdict: Block,
    explanation: "Formatting a filesystem erases everything on it.",
    suggestion: "Do not format filesystems from an agent; ask the user to do it.",
    fires: &["mkfs.ext4 /dev/sdb1", "sudo mkfs -t xfs /dev/nvme0n1"],
    near_misses: &["man mkfs", "echo mkfs"],
};
pub const DD_DEVICE: Rule = Rule {
    id: "dd-device",
    family: F,
    verdict: Block,
    explanation: "`dd of=` a raw disk device overwrites it.",
    suggestion: "Write to an image file instead of a device, e.g. `dd of=./disk.img`.",
    fires: &[
        "dd if=/dev/zero of=/dev/sda",
        "dd if=x.iso of=/dev/nvme0n1 bs=4M",
    ],
    near_misses: &["dd if=/dev/zero of=./test.img bs=1M count=10"],
};
pub const DEVICE_WRITE: Rule = Rule {
    id: "device-write",
    family: F,
    verdict: Block,
    explanation: "A redirection, `tee` or file tool writing to a raw disk device.",
    suggestion: "Redirect output to a regular file, never to a raw device.",
    fires: &[
        "echo x > /dev/sda",
        "cat img | tee /dev/nvme0n1",
        "wipefs -a /dev/sda",
    ],
    near_misses: &["echo x > /dev/null", "echo x > /dev/stderr"],
};
pub const DESTROY_SENSITIVE: Rule = Rule {
    id: "destroy-sensitive",
    family: F,
    verdict: Block,
    explanation: "`shred`, `truncate` or an emptying redirection (`> f`, `: > f`, `cp /dev/null f`) of a credentials, system or shell start-up file.",
    suggestion: "Leave credentials and system files alone; ask the user if they must change.",
    fires: &["shred -u ~/.ssh/id_rsa", "truncate -s 0 /etc/passwd", "> /etc/hosts", "cp /dev/null /etc/shadow"],
    near_misses: &["truncate -s 10M test.img", "shred -u ./tmp.bin", "> build.log"],
};
pub const PERM_SYSTEM: Rule = Rule {
    id: "recursive-perm-system",
    family: F,
    verdict: Block,
    explanation:
        "A recursive `chmod`/`chown`/`chgrp` on `/`, a system directory or a home directory.",
    suggestion: "Change permissions only on specific paths inside the workspace.",
    fires: &["chmod -R 777 /", "chown -R u:u /usr", "chmod -R 000 ~"],
    near_misses: &["chmod -R u+w ./build", "chmod +x script.sh"],
};
pub const MOVE_TO_NULL: Rule = Rule {
    id: "move-destroy",
    family: F,
    verdict: Block,
    explanation: "`mv` of a system directory, a home directory or the workspace, or of anything to `/dev/null`: the data is gone or the system is broken.",
    suggestion: "Move specific files inside the workspace; use a backup folder instead of `/dev/null`.",
    fires: &["mv ~ /dev/null", "mv /etc /tmp/x", "mv src /dev/null"],
    near_misses: &["mv a.txt b.txt", "mv build /tmp/old-build"],
};
pub const RSYNC_DELETE: Rule = Rule {
    id: "rsync-delete",
    family: F,
    verdict: RequireApproval,
    explanation: "`rsync --delete` removes everything in the destination that the source lacks.",
    suggestion: "Run `rsync --delete --dry-run` first and let the user confirm.",
    fires: &[
        "rsync -a --delete src/ backup/",
        "rsync -a --delete-after x/ /srv/www/",
    ],
    near_misses: &["rsync -a src/ backup/", "rsync -an --delete src/ backup/"],
};
pub const SYSTEM_WRITE: Rule = Rule {
    id: "system-write",
    family: F,
    verdict: RequireApproval,
    explanation: "A write into a system location (`/etc`, `/usr`, `/boot`, `/lib`, `/bin`, …) by redirection, `tee`, `cp`, `mv`, `install`, `sed -i` or a file tool.",
    suggestion: "Change system files only with the user's go-ahead; keep project files in the workspace.",
    fires: &["echo '1.2.3.4 x' >> /etc/hosts", "sudo tee /etc/sysctl.d/99-x.conf", "cp x.conf /etc/nginx/nginx.conf"],
    near_misses: &["cat /etc/hosts", "cp /etc/hosts ./hosts.bak"],
};
pub const WRITE_OUTSIDE_WORKSPACE: Rule = Rule {
    id: "write-outside-workspace",
    family: F,
    verdict: Warn,
    explanation: "A file tool writing outside the workspace.",
    suggestion: "Keep changes inside the workspace unless the user asked otherwise.",
    fires: &["@Write /home/u/notes/todo.md|x"],
    near_misses: &["@Write /w/proj/src/a.rs|x"],
};
pub const SYMLINK_ESCAPE: Rule = Rule {
    id: "symlink-escape",
    family: F,
    verdict: RequireApproval,
    explanation: "A file tool writing through a symlink that leads out of the workspace.",
    suggestion:
        "The path leads outside the workspace through a symlink; write to the real path inside it.",
    fires: &[],
    near_misses: &["@Write /w/proj/src/a.rs|x"],
};
pub const DESTRUCTIVE: Rule = Rule {
    id: "destructive",
    family: F,
    verdict: Warn,
    explanation: "Any other destructive command without a more specific rule.",
    suggestion: "Make sure the data is backed up or regenerable before destroying it.",
    fires: &[
        "docker rm web",
        "dd if=/dev/zero of=disk.img bs=1M count=64",
    ],
    near_misses: &["docker ps", "dd --help"],
};

pub const RM_DYNAMIC_TARGETS: Rule = Rule {
    id: "rm-dynamic-targets",
    family: F,
    verdict: RequireApproval,
    explanation: "A delete whose targets another program names at run time (`… | xargs rm`, `parallel rm`, `find -exec rm` over everything): what goes cannot be seen.",
    suggestion: "List the files first, then delete them by name.",
    fires: &["find ~ -name '*.py' | xargs rm", "ls | xargs rm -f"],
    near_misses: &["rm a.txt", "find . -name '*.pyc' -delete"],
};

pub const FILESYSTEM_RULES: &[Rule] = &[
    RM_DYNAMIC_TARGETS,
    RM_ROOT,
    RM_RECURSIVE,
    RM_UNBOUNDED,
    FIND_DELETE,
    MKFS,
    DD_DEVICE,
    DEVICE_WRITE,
    DESTROY_SENSITIVE,
    PERM_SYSTEM,
    MOVE_TO_NULL,
    RSYNC_DELETE,
    SYSTEM_WRITE,
    WRITE_OUTSIDE_WORKSPACE,
    SYMLINK_ESCAPE,
    DESTRUCTIVE,
];
