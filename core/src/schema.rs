//! The two table schemas, declared once.
//!
//! Each table is one `table!` declaration: a line per column with its id, the name of its id
//! constant, its record field and type, and its [`Role`]. Everything else that knows a column
//! follows from that line:
//! - the record struct ([`UrlRecord`], [`HostRecord`]) and the id constants ([`url`], [`host`]);
//! - the [`ColumnSpec`] tables ([`URL_COLUMNS`], [`HOST_COLUMNS`]): width and value kind come
//!   from the field's type, so a column cannot be declared 4 bytes wide and held in a `u16`;
//! - [`Record::get`] and [`Record::set`] by column id (what the writer feeds from), the rows
//!   built from decoded columns ([`build_rows`]), the arena references ([`Record::arena_refs`]);
//! - the log-frame value of a record ([`Record::put_value`], [`Record::read_value`]): every
//!   column that is not part of the key, in id order, at its width, little-endian.
//!
//! **Extension columns.** A table may declare, after the reference's columns, an `extension`
//! block: meguri's own columns (the URLFrontier state of a served crawl). They are record
//! fields like the others, but a file holds them only when some row's value is not zero
//! ([`Record::has_ext`]), a reader of a file without them sees zeros, the reference decodes
//! them (its readers check and skip unknown column ids) and ignores them, and they are not part
//! of the reference's log-frame value: the store writes them in a frame of their own
//! ([`Record::put_ext_value`]). [`Record::COLUMNS`] lists the reference's columns only;
//! [`Record::EXT_COLUMNS`] the extension.

use crate::error::{Error, ErrorKind, Result, Table};
use crate::format::layout::Field;
use crate::keys::UrlKey;
use crate::records::Values;
use alloc::format;
use alloc::vec::Vec;

/// How a column's values are interpreted (and whether it gets zone maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An unsigned integer: zone maps are kept.
    Uint,
    /// An f32 bit pattern: no zone maps.
    Float,
    /// 16 opaque bytes (the resolved IP): RAW only, no zone maps.
    Opaque,
}

/// What a column is to the code that reads or writes it, beyond its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An ordinary value.
    Value,
    /// The host key: both tables sort by it and a partition owns a range of it.
    HostKey,
    /// The path key: URL rows sort by (host key, path key).
    PathKey,
    /// An offset into the string arena (0 = no string).
    ArenaRef,
    /// When the URL is next due (0 = not scheduled): the schedule wheel and the STATS due
    /// range are built from it.
    NextDue,
}

impl Role {
    /// Whether the column is part of the row's key (and so not of its log-frame value).
    pub const fn is_key(self) -> bool {
        matches!(self, Role::HostKey | Role::PathKey)
    }
}

/// One column of a table schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Schema id (the column's position).
    pub id: u64,
    /// Field name.
    pub name: &'static str,
    /// Bytes per value.
    pub width: u8,
    /// Value interpretation.
    pub kind: ValueKind,
    /// What the column is for.
    pub role: Role,
}

/// One value of one column, as [`Values`] holds a column of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An integer column's value (a float column's bit pattern).
    Int(u64),
    /// The 16-byte column's value.
    Wide([u8; 16]),
}

/// A record field's type, as a column stores it. Width and kind follow from the type.
pub trait Cell: Field + Default {
    /// Bytes per value.
    const WIDTH: u8;
    /// Value interpretation.
    const KIND: ValueKind;
    /// The value as a column holds it.
    fn to_value(self) -> Value;
    /// The field from a column value; `None` when the value does not fit the field.
    fn from_value(v: Value) -> Option<Self>;
    /// Row `i` of a decoded column whose length the caller has checked (an integer column's
    /// value is cut to the field's width, as decoding never makes it wider).
    fn from_values(v: &Values, i: usize) -> Self;
}

macro_rules! uint_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            const WIDTH: u8 = core::mem::size_of::<$t>() as u8;
            const KIND: ValueKind = ValueKind::Uint;
            fn to_value(self) -> Value {
                Value::Int(u64::from(self))
            }
            fn from_value(v: Value) -> Option<Self> {
                match v {
                    Value::Int(v) => <$t>::try_from(v).ok(),
                    Value::Wide(_) => None,
                }
            }
            fn from_values(v: &Values, i: usize) -> Self {
                v.int(i) as $t
            }
        }
    )*};
}
uint_cell!(u8, u16, u32, u64);

impl Cell for f32 {
    const WIDTH: u8 = 4;
    const KIND: ValueKind = ValueKind::Float;
    fn to_value(self) -> Value {
        Value::Int(u64::from(self.to_bits()))
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(v) => u32::try_from(v).ok().map(f32::from_bits),
            Value::Wide(_) => None,
        }
    }
    fn from_values(v: &Values, i: usize) -> Self {
        f32::from_bits(v.int(i) as u32)
    }
}

impl Cell for [u8; 16] {
    const WIDTH: u8 = 16;
    const KIND: ValueKind = ValueKind::Opaque;
    fn to_value(self) -> Value {
        Value::Wide(self)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Wide(b) => Some(b),
            Value::Int(_) => None,
        }
    }
    fn from_values(v: &Values, i: usize) -> Self {
        v.wide(i)
    }
}

/// How many arena references a row of either table holds.
pub const ARENA_REFS_PER_ROW: usize = 3;

/// A row type of one of the tables, derived from its `table!` declaration.
pub trait Record: Copy + Default + 'static {
    /// The table it is a row of.
    const TABLE: Table;
    /// The table's columns, in id order (a column's id is its index).
    const COLUMNS: &'static [ColumnSpec];
    /// The table's extension columns, in id order, after [`Record::COLUMNS`].
    const EXT_COLUMNS: &'static [ColumnSpec];
    /// Ids of the [`Role::ArenaRef`] columns, in id order.
    const ARENA_REFS: [u64; ARENA_REFS_PER_ROW] = ids_with_role(Self::COLUMNS, Role::ArenaRef);
    /// Bytes of the log-frame value: the widths of the columns outside the key.
    const VALUE_LEN: usize = value_len(Self::COLUMNS);
    /// Bytes of the extension frame's value: the widths of the extension columns.
    const EXT_VALUE_LEN: usize = value_len(Self::EXT_COLUMNS);

    /// The value of column `column`; `None` for an id the schema does not define.
    fn get(&self, column: u64) -> Option<Value>;

    /// Sets column `column`. Fails for an id the schema does not define and for a value that
    /// does not fit the column (wider than its width, or of the other shape).
    fn set(&mut self, column: u64, value: Value) -> Result<()>;

    /// Appends integer column `column` of every row of `rows` to `out`: [`Record::get`] for a
    /// whole page of rows, with the column chosen once rather than per row (what the writer
    /// feeds its pages from). Fails for the 16-byte column and for an id the schema does not
    /// define.
    fn extend_ints(rows: &[Self], column: u64, out: &mut Vec<u64>) -> Result<()>;

    /// Row `i` of `cols`, the table's decoded columns indexed by id; the caller has checked
    /// that there is a column per id and that each holds row `i` (see [`build_rows`]).
    fn from_columns(cols: &[Values], i: usize) -> Self;

    /// Appends the [`Record::VALUE_LEN`]-byte log-frame value: every column outside the key, in
    /// id order, at its width, little-endian.
    fn put_value(&self, out: &mut Vec<u8>);

    /// The record whose log-frame value is `v`, with its key columns left at zero (bytes
    /// missing from a short `v` read as zero; callers check the length first).
    fn read_value(v: &[u8]) -> Self;

    /// Whether any extension column holds a value other than zero (a file holds the table's
    /// extension columns only then, and the store writes the extension frame only then).
    fn has_ext(&self) -> bool;

    /// Appends the [`Record::EXT_VALUE_LEN`]-byte extension value: every extension column, in
    /// id order, at its width, little-endian.
    fn put_ext_value(&self, out: &mut Vec<u8>);

    /// Sets the extension columns from an extension value (bytes missing from a short `v` read
    /// as zero; callers check the length first).
    fn set_ext_value(&mut self, v: &[u8]);

    /// Sets every extension column to zero.
    fn clear_ext(&mut self);

    /// The extension's arena references with their columns, in id order.
    fn ext_arena_refs(&self) -> Vec<(&'static ColumnSpec, u64)> {
        Self::EXT_COLUMNS
            .iter()
            .filter(|c| c.role == Role::ArenaRef)
            .map(|c| (c, self.int(c.id)))
            .collect()
    }

    /// The value of an integer column (0 for an id the schema does not define or the 16-byte
    /// column).
    fn int(&self, column: u64) -> u64 {
        match self.get(column) {
            Some(Value::Int(v)) => v,
            _ => 0,
        }
    }

    /// The row's arena references with their columns, in id order.
    fn arena_refs(&self) -> [(&'static ColumnSpec, u64); ARENA_REFS_PER_ROW] {
        Self::ARENA_REFS.map(|id| (&Self::COLUMNS[id as usize], self.int(id)))
    }

    /// Replaces each arena reference, the extension's included, with `f(old)`, in id order.
    fn map_arena_refs(&mut self, mut f: impl FnMut(u64) -> u64) {
        let ext = Self::EXT_COLUMNS
            .iter()
            .filter(|c| c.role == Role::ArenaRef)
            .map(|c| c.id);
        for id in Self::ARENA_REFS.into_iter().chain(ext) {
            let new = f(self.int(id));
            // Arena-reference columns are 8-byte integers (checked where they are declared),
            // so every u64 fits.
            let _ = self.set(id, Value::Int(new));
        }
    }
}

/// Rows `0..n` of a table from its decoded columns, indexed by column id (`cols[id]`). Fails,
/// rather than inventing values, when a column is missing or holds fewer than `n` values.
pub fn build_rows<R: Record>(cols: &[Values], n: usize) -> Result<Vec<R>> {
    for spec in R::COLUMNS {
        let have = cols.get(spec.id as usize).map_or(0, Values::len);
        if have < n {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "{} column {} ({}) holds {have} values, {n} rows were asked for",
                    R::TABLE.name(),
                    spec.id,
                    spec.name
                ),
            ));
        }
    }
    // An extension column is absent (no values: the rows read zero there) or whole.
    for spec in R::EXT_COLUMNS {
        let have = cols.get(spec.id as usize).map_or(0, Values::len);
        if have != 0 && have < n {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "{} extension column {} ({}) holds {have} values, {n} rows were asked for",
                    R::TABLE.name(),
                    spec.id,
                    spec.name
                ),
            ));
        }
    }
    Ok((0..n).map(|i| R::from_columns(cols, i)).collect())
}

fn no_such_column(table: Table, column: u64) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!("the {} table has no column {column}", table.name()),
    )
}

fn not_an_integer(table: Table, column: u64) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!("{} column {column} is not an integer column", table.name()),
    )
}

fn does_not_fit(table: Table, column: u64, value: Value) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!("{value:?} does not fit {} column {column}", table.name()),
    )
}

/// Appends `v` little-endian at its width.
fn put_field<T: Field>(out: &mut Vec<u8>, v: T) {
    let at = out.len();
    out.resize(at + T::SIZE, 0);
    v.set(&mut out[at..]);
}

/// Reads the next field of a log-frame value, moving `at` past it.
fn take_field<T: Field>(v: &[u8], at: &mut usize) -> T {
    let f = T::get(v.get(*at..).unwrap_or_default());
    *at += T::SIZE;
    f
}

/// Declares a table: its record struct, id constants, [`ColumnSpec`] table and [`Record`]
/// implementation (see the module documentation).
///
/// Column lines are `id ID_CONST field: type, Role;`. A table whose key spans several columns
/// declares them in a block `key: KeyType { id ID_CONST name: type = key_field, Role; ... }`
/// before the other columns; the struct then holds the key as one field.
macro_rules! table {
    (
        $(#[$smeta:meta])*
        pub struct $rec:ident: $table:expr, $specs:ident, $ids:ident {
            $(#[$kmeta:meta])*
            $key:ident: $kty:ty {
                $(
                    $(#[$kfmeta:meta])*
                    $kid:literal $kconst:ident $kname:ident: $kfty:ty = $kfield:ident, $krole:ident;
                )*
            }
            $(
                $(#[$fmeta:meta])*
                $id:literal $cconst:ident $field:ident: $ty:ty, $role:ident;
            )*
            extension $ext_specs:ident {
                $(
                    $(#[$xmeta:meta])*
                    $xid:literal $xconst:ident $xfield:ident: $xty:ty, $xrole:ident;
                )*
            }
        }
    ) => {
        $(#[$smeta])*
        pub struct $rec {
            $(#[$kmeta])*
            pub $key: $kty,
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            $(
                $(#[$xmeta])*
                pub $xfield: $xty,
            )*
        }
        table!(@derive $rec, $table, $specs, $ext_specs, $ids;
            $([$(#[$kfmeta])*] $kid $kconst $kname: $kfty = [$key . $kfield], $krole;)*
            $([$(#[$fmeta])*] $id $cconst $field: $ty = [$field], $role;)*
            ;
            $([$(#[$xmeta])*] $xid $xconst $xfield: $xty = [$xfield], $xrole;)*
        );
    };
    (
        $(#[$smeta:meta])*
        pub struct $rec:ident: $table:expr, $specs:ident, $ids:ident {
            $(
                $(#[$fmeta:meta])*
                $id:literal $cconst:ident $field:ident: $ty:ty, $role:ident;
            )*
            extension $ext_specs:ident {
                $(
                    $(#[$xmeta:meta])*
                    $xid:literal $xconst:ident $xfield:ident: $xty:ty, $xrole:ident;
                )*
            }
        }
    ) => {
        $(#[$smeta])*
        pub struct $rec {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            $(
                $(#[$xmeta])*
                pub $xfield: $xty,
            )*
        }
        table!(@derive $rec, $table, $specs, $ext_specs, $ids;
            $([$(#[$fmeta])*] $id $cconst $field: $ty = [$field], $role;)*
            ;
            $([$(#[$xmeta])*] $xid $xconst $xfield: $xty = [$xfield], $xrole;)*
        );
    };
    (@derive $rec:ident, $table:expr, $specs:ident, $ext_specs:ident, $ids:ident;
        $(
            [$(#[$fmeta:meta])*]
            $id:literal $cconst:ident $name:ident: $ty:ty = [$($path:ident).+], $role:ident;
        )*
        ;
        $(
            [$(#[$xmeta:meta])*]
            $xid:literal $xconst:ident $xname:ident: $xty:ty = [$xfield:ident], $xrole:ident;
        )*
    ) => {
        #[doc = concat!("Column ids of [`", stringify!($rec), "`]'s table.")]
        pub mod $ids {
            $(
                $(#[$fmeta])*
                pub const $cconst: u64 = $id;
            )*
            $(
                $(#[$xmeta])*
                pub const $xconst: u64 = $xid;
            )*
        }

        #[doc = concat!("The columns of [`", stringify!($rec), "`]'s table, in id order.")]
        pub const $specs: [ColumnSpec; [$($id),*].len()] = [$(
            ColumnSpec {
                id: $id,
                name: stringify!($name),
                width: <$ty as Cell>::WIDTH,
                kind: <$ty as Cell>::KIND,
                role: Role::$role,
            },
        )*];

        #[doc = concat!("The extension columns of [`", stringify!($rec), "`]'s table, in id order.")]
        pub const $ext_specs: [ColumnSpec; [$($xid),*].len()] = [$(
            ColumnSpec {
                id: $xid,
                name: stringify!($xname),
                width: <$xty as Cell>::WIDTH,
                kind: <$xty as Cell>::KIND,
                role: Role::$xrole,
            },
        )*];

        const _: () = check_columns(&$specs);
        const _: () = check_extension(&$specs, &$ext_specs);

        impl Record for $rec {
            const TABLE: Table = $table;
            const COLUMNS: &'static [ColumnSpec] = &$specs;
            const EXT_COLUMNS: &'static [ColumnSpec] = &$ext_specs;

            fn get(&self, column: u64) -> Option<Value> {
                match column {
                    $($id => Some(Cell::to_value(self.$($path).+)),)*
                    $($xid => Some(Cell::to_value(self.$xfield)),)*
                    _ => None,
                }
            }

            fn set(&mut self, column: u64, value: Value) -> Result<()> {
                match column {
                    $($id => {
                        self.$($path).+ = Cell::from_value(value)
                            .ok_or_else(|| does_not_fit(Self::TABLE, column, value))?;
                    })*
                    $($xid => {
                        self.$xfield = Cell::from_value(value)
                            .ok_or_else(|| does_not_fit(Self::TABLE, column, value))?;
                    })*
                    _ => return Err(no_such_column(Self::TABLE, column)),
                }
                Ok(())
            }

            fn extend_ints(rows: &[Self], column: u64, out: &mut Vec<u64>) -> Result<()> {
                match column {
                    $($id => {
                        if <$ty as Cell>::KIND == ValueKind::Opaque {
                            return Err(not_an_integer(Self::TABLE, column));
                        }
                        out.extend(rows.iter().map(|r| match Cell::to_value(r.$($path).+) {
                            Value::Int(v) => v,
                            Value::Wide(_) => 0,
                        }));
                    })*
                    $($xid => {
                        out.extend(rows.iter().map(|r| match Cell::to_value(r.$xfield) {
                            Value::Int(v) => v,
                            Value::Wide(_) => 0,
                        }));
                    })*
                    _ => return Err(no_such_column(Self::TABLE, column)),
                }
                Ok(())
            }

            fn from_columns(cols: &[Values], i: usize) -> Self {
                let mut r = Self::default();
                $(r.$($path).+ = Cell::from_values(&cols[$id], i);)*
                // A file without its extension columns gives zeros.
                $(if let Some(v) = cols.get($xid).filter(|v| v.len() > i) {
                    r.$xfield = Cell::from_values(v, i);
                })*
                r
            }

            fn has_ext(&self) -> bool {
                false $(|| self.$xfield != <$xty>::default())*
            }

            fn put_ext_value(&self, out: &mut Vec<u8>) {
                $(put_field(out, self.$xfield);)*
            }

            fn set_ext_value(&mut self, v: &[u8]) {
                let mut at = 0;
                $(self.$xfield = take_field::<$xty>(v, &mut at);)*
                let _ = at;
            }

            fn clear_ext(&mut self) {
                $(self.$xfield = <$xty>::default();)*
            }

            fn put_value(&self, out: &mut Vec<u8>) {
                $(if !Role::$role.is_key() {
                    put_field(out, self.$($path).+);
                })*
            }

            fn read_value(v: &[u8]) -> Self {
                let mut r = Self::default();
                let mut at = 0;
                $(if !Role::$role.is_key() {
                    r.$($path).+ = take_field::<$ty>(v, &mut at);
                })*
                r
            }
        }
    };
}
table! {
    /// A URL's crawl state.
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct UrlRecord: Table::Url, URL_COLUMNS, url {
        /// The URL's key (host key and path key).
        key: UrlKey {
            /// Host key.
            0 HOST_KEY host_key: u64 = host, HostKey;
            /// Path key.
            1 PATH_KEY path_key: u64 = path, PathKey;
        }
        /// [`crate::records::UrlStatus`] names it.
        2 STATUS status: u8, Value;
        /// Crawl priority.
        3 PRIORITY priority: f32, Value;
        /// Link depth from a seed.
        4 DEPTH depth: u16, Value;
        /// How the URL was found ([`crate::records::source_name`]).
        5 DISCOVERY_SOURCE discovery_source: u8, Value;
        /// Arena offset of the URL string.
        6 URL_REF url_ref: u64, ArenaRef;
        /// Epoch-hours first seen.
        7 FIRST_SEEN first_seen: u32, Value;
        /// Epoch-hours of the last crawl.
        8 LAST_CRAWLED last_crawled: u32, Value;
        /// Epoch-hours of the last observed change.
        9 LAST_CHANGED last_changed: u32, Value;
        /// Epoch-hours when the URL is next due (0 = not scheduled).
        10 NEXT_DUE next_due: u32, NextDue;
        /// Estimated change rate per hour.
        11 LAMBDA lambda: f32, Value;
        /// Crawls so far.
        12 CRAWL_COUNT crawl_count: u32, Value;
        /// Changes observed.
        13 CHANGE_COUNT change_count: u32, Value;
        /// Consecutive crawls without change.
        14 NO_CHANGE_STREAK no_change_streak: u16, Value;
        /// Arena offset of the ETag (0 = none).
        15 ETAG_REF etag_ref: u64, ArenaRef;
        /// Last-Modified in epoch-hours (0 = none).
        16 LAST_MODIFIED last_modified: u32, Value;
        /// Content fingerprint.
        17 CONTENT_FP content_fp: u64, Value;
        /// Simhash of the content.
        18 SIMHASH simhash: u64, Value;
        /// Last HTTP status.
        19 HTTP_STATUS http_status: u16, Value;
        /// Arena offset of the redirect target (0 = none).
        20 REDIRECT_REF redirect_ref: u64, ArenaRef;
        /// Retries of the current failure.
        21 RETRY_COUNT retry_count: u8, Value;
        /// Errors so far.
        22 ERROR_COUNT error_count: u16, Value;
        extension URL_EXT_COLUMNS {
            /// Epoch-seconds from which the URL may be handed out (URLFrontier's refetch date;
            /// 0: never again). `next_due` holds the same moment in hours for the reference.
            23 REFETCH_AT refetch_at: u32, Value;
            /// Epoch-seconds the URL was first stored (URLFrontier's creation date).
            24 CREATED_AT created_at: u32, Value;
            /// Epoch-seconds its lease ends while it is handed out (0: not handed out).
            25 LEASE_UNTIL lease_until: u32, Value;
            /// Arena offset of the URL's metadata (0: none; see `crawl::meta` for the layout).
            26 META_REF meta_ref: u64, ArenaRef;
        }
    }
}

table! {
    /// A host's crawl state.
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct HostRecord: Table::Host, HOST_COLUMNS, host {
        /// Host key.
        0 HOST_KEY host_key: u64, HostKey;
        /// Arena offset of the host string.
        1 HOST_REF host_ref: u64, ArenaRef;
        /// 0 registrable domain, 1 full host.
        2 GROUPING grouping: u8, Value;
        /// Arena offset of the registrable domain.
        3 REGISTRABLE_REF registrable_ref: u64, ArenaRef;
        /// Resolved IP (IPv4-mapped IPv6).
        4 RESOLVED_IP resolved_ip: [u8; 16], Value;
        /// Epoch-hours the IP expires.
        5 IP_EXPIRY ip_expiry: u32, Value;
        /// Epoch-hours robots.txt was fetched.
        6 ROBOTS_FETCHED robots_fetched: u32, Value;
        /// Epoch-hours robots.txt expires.
        7 ROBOTS_EXPIRY robots_expiry: u32, Value;
        /// Arena offset of the packed robots blob.
        8 ROBOTS_REF robots_ref: u64, ArenaRef;
        /// Crawl delay in deciseconds.
        9 CRAWL_DELAY crawl_delay: u16, Value;
        /// Epoch-seconds the host may next be fetched.
        10 HOST_NEXT_ELIGIBLE host_next_eligible: u32, Value;
        /// Epoch-seconds the IP may next be fetched.
        11 IP_NEXT_ELIGIBLE ip_next_eligible: u32, Value;
        /// URL budget.
        12 URL_BUDGET url_budget: u32, Value;
        /// URLs known for the host.
        13 URL_COUNT url_count: u32, Value;
        /// Depth cap.
        14 DEPTH_CAP depth_cap: u16, Value;
        /// Host score.
        15 HOST_SCORE host_score: f32, Value;
        /// Crawls so far.
        16 CRAWL_TOTAL crawl_total: u32, Value;
        /// Errors so far.
        17 ERROR_TOTAL error_total: u32, Value;
        /// Average latency (ms).
        18 AVG_LATENCY avg_latency: u16, Value;
        /// Flag bits ([`crate::records::HOST_FLAG_NAMES`]).
        19 FLAGS flags: u16, Value;
        extension HOST_EXT_COLUMNS {
            /// Milliseconds between two hand-outs of this queue, plus one (0: the crawl's
            /// default; URLFrontier's `SetDelay`). `crawl_delay` holds it in deciseconds for
            /// the reference, capped at its 16 bits.
            20 QUEUE_DELAY queue_delay: u32, Value;
            /// Epoch-seconds before which the queue hands out nothing (URLFrontier's
            /// `BlockQueueUntil`; 0: not blocked).
            21 BLOCKED_UNTIL blocked_until: u32, Value;
            /// Epoch-milliseconds of the queue's last hand-out (0: never), which its delay
            /// counts from. `host_next_eligible` holds last hand-out plus delay in seconds for
            /// the reference.
            22 LAST_HANDOUT last_handout: u64, Value;
        }
    }
}

/// URL column ids that hold arena offsets.
pub const URL_ARENA_REFS: [u64; ARENA_REFS_PER_ROW] = UrlRecord::ARENA_REFS;
/// Host column ids that hold arena offsets.
pub const HOST_ARENA_REFS: [u64; ARENA_REFS_PER_ROW] = HostRecord::ARENA_REFS;

/// Compile-time checks of a declared table: ids are positions, the key columns come first,
/// arena references are 8-byte integers.
const fn check_columns(cols: &[ColumnSpec]) {
    let mut i = 0;
    let mut in_key = true;
    while i < cols.len() {
        let c = &cols[i];
        assert!(c.id == i as u64, "column ids must be their positions");
        assert!(
            !c.role.is_key() || in_key,
            "key columns must come before the others"
        );
        in_key = c.role.is_key();
        if let Role::ArenaRef = c.role {
            assert!(
                c.width == 8 && matches!(c.kind, ValueKind::Uint),
                "arena references are 8-byte integers"
            );
        }
        i += 1;
    }
}

/// Compile-time checks of a table's extension: its ids follow the reference's columns, no key
/// or next-due role (those belong to the reference's columns), arena references are 8-byte
/// integers.
const fn check_extension(base: &[ColumnSpec], ext: &[ColumnSpec]) {
    let mut i = 0;
    while i < ext.len() {
        let c = &ext[i];
        assert!(
            c.id == (base.len() + i) as u64,
            "extension ids follow the table's columns"
        );
        assert!(
            matches!(c.role, Role::Value | Role::ArenaRef),
            "extension columns are values or arena references"
        );
        if let Role::ArenaRef = c.role {
            assert!(
                c.width == 8 && matches!(c.kind, ValueKind::Uint),
                "arena references are 8-byte integers"
            );
        }
        i += 1;
    }
}

/// The ids of the columns with `role`, which must be exactly `N`.
const fn ids_with_role<const N: usize>(cols: &[ColumnSpec], role: Role) -> [u64; N] {
    let mut out = [0u64; N];
    let (mut i, mut n) = (0, 0);
    while i < cols.len() {
        if cols[i].role as u8 == role as u8 {
            assert!(n < N, "more columns with the role than expected");
            out[n] = cols[i].id;
            n += 1;
        }
        i += 1;
    }
    assert!(n == N, "fewer columns with the role than expected");
    out
}

/// Sum of the widths of the columns outside the key.
const fn value_len(cols: &[ColumnSpec]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < cols.len() {
        if !cols[i].role.is_key() {
            n += cols[i].width as usize;
        }
        i += 1;
    }
    n
}

/// The schema of one table.
pub fn columns(table: Table) -> &'static [ColumnSpec] {
    match table {
        Table::Url => UrlRecord::COLUMNS,
        Table::Host => HostRecord::COLUMNS,
    }
}

/// The extension columns of one table.
pub fn ext_columns(table: Table) -> &'static [ColumnSpec] {
    match table {
        Table::Url => UrlRecord::EXT_COLUMNS,
        Table::Host => HostRecord::EXT_COLUMNS,
    }
}

/// The spec of column `id` of `table`, if the schema defines it (the extension's included).
pub fn spec(table: Table, id: u64) -> Option<&'static ColumnSpec> {
    let i = usize::try_from(id).ok()?;
    let base = columns(table);
    base.get(i)
        .or_else(|| ext_columns(table).get(i.checked_sub(base.len())?))
}

/// Whether column `id` of `table` is an extension column.
pub fn is_ext(table: Table, id: u64) -> bool {
    id >= columns(table).len() as u64 && spec(table, id).is_some()
}

/// The id of `table`'s host-key column.
pub fn host_key_column(table: Table) -> u64 {
    match table {
        Table::Url => url::HOST_KEY,
        Table::Host => host::HOST_KEY,
    }
}

/// Sum of the widths of a table's columns: the decoded bytes per row (103 URL, 97 host).
pub fn row_width(table: Table) -> u64 {
    columns(table).iter().map(|c| u64::from(c.width)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_the_formats() {
        assert_eq!(row_width(Table::Url), 103);
        assert_eq!(row_width(Table::Host), 97);
        assert_eq!(UrlRecord::VALUE_LEN, 87);
        assert_eq!(HostRecord::VALUE_LEN, 89);
        assert_eq!(URL_ARENA_REFS, [6, 15, 20]);
        assert_eq!(HOST_ARENA_REFS, [1, 3, 8]);
        assert_eq!(host_key_column(Table::Url), 0);
        assert_eq!(host_key_column(Table::Host), 0);
        let ip = spec(Table::Host, host::RESOLVED_IP).unwrap();
        assert_eq!(
            (ip.name, ip.width, ip.kind),
            ("resolved_ip", 16, ValueKind::Opaque)
        );
        let lambda = spec(Table::Url, url::LAMBDA).unwrap();
        assert_eq!((lambda.width, lambda.kind), (4, ValueKind::Float));
        assert_eq!(spec(Table::Url, url::NEXT_DUE).unwrap().role, Role::NextDue);
        assert!(spec(Table::Url, 23).is_some_and(|c| c.name == "refetch_at"));
        assert!(is_ext(Table::Url, url::META_REF) && !is_ext(Table::Url, url::ERROR_COUNT));
        assert!(spec(Table::Url, 27).is_none());
        assert!(spec(Table::Host, 23).is_none());
    }

    /// Every column of a record, the extension's included.
    fn all<R: Record>() -> impl Iterator<Item = &'static ColumnSpec> {
        R::COLUMNS.iter().chain(R::EXT_COLUMNS)
    }

    /// A record whose every column holds a different value: its id plus one, in every byte
    /// the width allows.
    fn distinct<R: Record>() -> R {
        let mut r = R::default();
        for c in all::<R>() {
            let v = match c.kind {
                ValueKind::Opaque => Value::Wide([c.id as u8 + 1; 16]),
                _ => {
                    let byte = c.id + 1;
                    let all = (0..u64::from(c.width)).fold(0u64, |a, _| a << 8 | byte);
                    Value::Int(all)
                }
            };
            r.set(c.id, v).unwrap();
        }
        r
    }

    fn get_set_round_trip<R: Record + PartialEq + core::fmt::Debug>() {
        let r = distinct::<R>();
        let mut back = R::default();
        for c in all::<R>() {
            let v = r.get(c.id).unwrap();
            back.set(c.id, v).unwrap();
            // Every column reads back its own value, and no other column's.
            let want = distinct::<R>().get(c.id).unwrap();
            assert_eq!(v, want, "{} column {}", R::TABLE.name(), c.name);
        }
        assert_eq!(back, r);
        let n = (R::COLUMNS.len() + R::EXT_COLUMNS.len()) as u64;
        assert_eq!(r.get(n), None);
        // The extension value round-trips on its own, and clears.
        let mut ext = Vec::new();
        r.put_ext_value(&mut ext);
        assert_eq!(ext.len(), R::EXT_VALUE_LEN);
        let mut only = R::default();
        only.set_ext_value(&ext);
        assert!(only.has_ext());
        for c in R::EXT_COLUMNS {
            assert_eq!(only.get(c.id), r.get(c.id), "{}", c.name);
        }
        only.clear_ext();
        assert!(!only.has_ext());
        assert_eq!(only, R::default());
        assert!(back.set(n, Value::Int(1)).is_err());
    }

    #[test]
    fn every_column_gets_and_sets_its_own_field() {
        get_set_round_trip::<UrlRecord>();
        get_set_round_trip::<HostRecord>();
        let u = distinct::<UrlRecord>();
        assert_eq!(u.key.host, 0x0101_0101_0101_0101);
        assert_eq!(u.key.path, 0x0202_0202_0202_0202);
        assert_eq!(u.next_due, 0x0b0b_0b0b);
        assert_eq!(u.error_count, 0x1717);
        let h = distinct::<HostRecord>();
        assert_eq!(h.resolved_ip, [5; 16]);
        assert_eq!(h.flags, 0x1414);
    }

    #[test]
    fn a_page_of_a_column_is_what_get_gives_row_by_row() {
        let rows = [distinct::<HostRecord>(), HostRecord::default(), distinct()];
        for c in all::<HostRecord>() {
            let mut out = alloc::vec![99];
            let got = HostRecord::extend_ints(&rows, c.id, &mut out);
            if c.kind == ValueKind::Opaque {
                assert!(got.is_err());
                continue;
            }
            got.unwrap();
            let want: Vec<u64> = rows.iter().map(|r| r.int(c.id)).collect();
            assert_eq!(out[0], 99, "appended, not replaced");
            assert_eq!(out[1..], want, "{}", c.name);
        }
        assert!(UrlRecord::extend_ints(&[], 27, &mut Vec::new()).is_err());
    }

    #[test]
    fn set_refuses_values_that_do_not_fit() {
        let mut u = UrlRecord::default();
        assert!(u.set(url::STATUS, Value::Int(255)).is_ok());
        assert!(u.set(url::STATUS, Value::Int(256)).is_err());
        assert!(u.set(url::LAMBDA, Value::Int(1 << 32)).is_err());
        assert!(u.set(url::DEPTH, Value::Wide([0; 16])).is_err());
        let mut h = HostRecord::default();
        assert!(h.set(host::RESOLVED_IP, Value::Int(1)).is_err());
        assert_eq!(u.status, 255, "a refused value leaves the field as it was");
    }

    #[test]
    fn arena_refs_visit_the_reference_columns_in_order() {
        let mut u = distinct::<UrlRecord>();
        let names: Vec<&str> = u.arena_refs().iter().map(|(s, _)| s.name).collect();
        assert_eq!(names, ["url_ref", "etag_ref", "redirect_ref"]);
        let ext: Vec<&str> = u.ext_arena_refs().iter().map(|(s, _)| s.name).collect();
        assert_eq!(ext, ["meta_ref"]);
        let mut seen = Vec::new();
        u.map_arena_refs(|r| {
            seen.push(r);
            r + 1
        });
        assert_eq!(
            seen,
            [
                0x0707_0707_0707_0707,
                0x1010_1010_1010_1010,
                0x1515_1515_1515_1515,
                0x1b1b_1b1b_1b1b_1b1b
            ]
        );
        assert_eq!(u.meta_ref, 0x1b1b_1b1b_1b1b_1b1c);
        assert_eq!(u.url_ref, 0x0707_0707_0707_0708);
        assert_eq!(u.redirect_ref, 0x1515_1515_1515_1516);
        let h = distinct::<HostRecord>();
        let refs: Vec<u64> = h.arena_refs().iter().map(|&(_, r)| r).collect();
        assert_eq!(refs, [h.host_ref, h.registrable_ref, h.robots_ref]);
    }

    #[test]
    fn values_round_trip_without_the_key() {
        let mut u = distinct::<UrlRecord>();
        // The extension travels in a frame of its own, not in this value.
        u.clear_ext();
        let mut v = Vec::new();
        u.put_value(&mut v);
        assert_eq!(v.len(), UrlRecord::VALUE_LEN);
        // The value starts with the status byte: the key is not part of it.
        assert_eq!(v[0], 3);
        let back = UrlRecord::read_value(&v);
        assert_eq!(back.key, UrlKey::default());
        assert_eq!(UrlRecord { key: u.key, ..back }, u);
        // A short value reads zeros where bytes are missing, never past the end.
        let cut = UrlRecord::read_value(&v[..10]);
        assert_eq!(cut.status, 3);
        assert_eq!(cut.first_seen, 0);
        let mut h = distinct::<HostRecord>();
        h.clear_ext();
        v.clear();
        h.put_value(&mut v);
        assert_eq!(v.len(), HostRecord::VALUE_LEN);
        let back = HostRecord::read_value(&v);
        assert_eq!(
            HostRecord {
                host_key: h.host_key,
                ..back
            },
            h
        );
    }

    #[test]
    fn rows_build_from_columns_by_id() {
        let rows = [distinct::<HostRecord>(), HostRecord::default()];
        let cols: Vec<Values> = all::<HostRecord>()
            .map(|c| match c.kind {
                ValueKind::Opaque => Values::Wide(
                    rows.iter()
                        .map(|r| match r.get(c.id) {
                            Some(Value::Wide(b)) => b,
                            _ => [0; 16],
                        })
                        .collect(),
                ),
                _ => Values::Int(rows.iter().map(|r| r.int(c.id)).collect()),
            })
            .collect();
        assert_eq!(build_rows::<HostRecord>(&cols, 2).unwrap(), rows);
        assert!(build_rows::<HostRecord>(&cols, 3).is_err());
        assert!(build_rows::<HostRecord>(&cols[..19], 1).is_err());
        // Without the extension's columns, rows read zeros there.
        let mut plain = rows;
        plain.iter_mut().for_each(Record::clear_ext);
        assert_eq!(build_rows::<HostRecord>(&cols[..20], 2).unwrap(), plain);
    }
}
