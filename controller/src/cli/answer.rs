//! What a one-shot command prints and how it exits, kept as a value so the commands can be
//! tested without a process (`history`, `targets`, the kubectl plugin).

/// Done: the answer is complete.
pub const EXIT_OK: i32 = 0;
/// Bad input, or the command could not read what it needs: never a partial answer.
pub const EXIT_BAD_INPUT: i32 = 2;

/// What the command prints and how it exits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Answer {
    /// `error: <message>` on stderr, exit 2.
    pub fn bad_input(message: impl std::fmt::Display) -> Answer {
        Answer {
            stderr: format!("error: {message}\n"),
            code: EXIT_BAD_INPUT,
            ..Answer::default()
        }
    }
}
