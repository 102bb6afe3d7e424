//! A parsed command's arguments: spans into a byte buffer, so that parsing and
//! dispatching a command allocates nothing.

/// One argument: a byte range `start..end` into the buffer the command was parsed from.
pub type Span = (usize, usize);

/// The arguments of one command (argv[0] is the command name).
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    base: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Argv<'a> {
    pub fn new(base: &'a [u8], spans: &'a [Span]) -> Self {
        Argv { base, spans }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// Argument `i`. Panics when out of range: arity is checked before handlers run.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.spans[i];
        &self.base[s..e]
    }
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let base = self.base;
        self.spans.iter().map(move |&(s, e)| &base[s..e])
    }
    pub fn spans(&self) -> &'a [Span] {
        self.spans
    }
    pub fn base(&self) -> &'a [u8] {
        self.base
    }
}

/// Owned arguments of one or more commands packed into one buffer: what travels between
/// shards (one allocation for a whole pipelined batch, not one per argument).
#[derive(Default, Debug)]
pub struct PackedArgs {
    data: Vec<u8>,
    spans: Vec<Span>,
    /// `spans[cmd_ends[i-1]..cmd_ends[i]]` are the arguments of command `i`.
    cmd_ends: Vec<usize>,
}

impl PackedArgs {
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a command given by its arguments.
    pub fn push<'a>(&mut self, args: impl IntoIterator<Item = &'a [u8]>) {
        for a in args {
            let s = self.data.len();
            self.data.extend_from_slice(a);
            self.spans.push((s, self.data.len()));
        }
        self.cmd_ends.push(self.spans.len());
    }
    pub fn push_argv(&mut self, argv: &Argv<'_>) {
        self.push(argv.iter())
    }
    /// Number of commands.
    pub fn len(&self) -> usize {
        self.cmd_ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cmd_ends.is_empty()
    }
    pub fn get(&self, i: usize) -> Argv<'_> {
        let start = if i == 0 { 0 } else { self.cmd_ends[i - 1] };
        Argv::new(&self.data, &self.spans[start..self.cmd_ends[i]])
    }
    pub fn iter(&self) -> impl Iterator<Item = Argv<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}
