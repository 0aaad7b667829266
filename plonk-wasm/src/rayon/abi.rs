//! The JS ABI's shapes, declared once. Each type the pool hands to JS (the
//! health snapshot, the reports) is declared with [`abi!`], which emits the
//! Rust struct and, natively, its TypeScript interface; the error codes and
//! the state names have their lists next to their definitions. `pool_abi`
//! assembles them all into bindings-js/lib/proof-system/pool-abi.ts, which
//! the native test `tests/abi.rs` compares with the file, so the TypeScript
//! side cannot drift from the Rust definitions.
//!
//! A leaf: the modules that declare ABI types use this one, and it uses
//! none of them (the assembly, which names them all, is `pool_abi`).

/// Declares an ABI struct: docs, one `#[derive(...)]`, one `#[serde(...)]`
/// (camelCase names), and `pub` fields with docs; a field may give its
/// TypeScript type with `@ts("...")` (string unions) instead of the one its
/// Rust type maps to.
macro_rules! abi {
    (
        $(#[doc = $doc:literal])*
        #[derive($($derive:path),* $(,)?)]
        #[serde($($serde:tt)*)]
        pub struct $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $(@ts($ts:literal))?
                pub $field:ident : $ty:ty,
            )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive($($derive),*)]
        #[serde($($serde)*)]
        pub struct $name {
            $(
                $(#[doc = $fdoc])*
                pub $field: $ty,
            )*
        }

        #[cfg(not(target_arch = "wasm32"))]
        impl $crate::rayon::abi::TsType for $name {
            fn ts() -> String {
                stringify!($name).to_string()
            }
        }

        #[cfg(not(target_arch = "wasm32"))]
        impl $crate::rayon::abi::Interface for $name {
            fn interface() -> $crate::rayon::abi::InterfaceDecl {
                $crate::rayon::abi::InterfaceDecl {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    fields: vec![$(
                        $crate::rayon::abi::FieldDecl {
                            name: $crate::rayon::abi::camel_case(stringify!($field)),
                            ts: $crate::rayon::abi::ts_of::<$ty>(None $(.or(Some($ts)))?),
                            docs: vec![$($fdoc),*],
                        }
                    ),*],
                }
            }
        }
    };
}
pub(crate) use abi;

// The rendering exists natively only: the wasm carries none of it.
#[cfg(not(target_arch = "wasm32"))]
pub use render::*;

#[cfg(not(target_arch = "wasm32"))]
mod render {
    /// A Rust type's TypeScript type, as serde's JSON-compatible serializer writes it.
    pub trait TsType {
        fn ts() -> String;
    }

    macro_rules! ts_primitive {
        ($ts:literal: $($ty:ty),*) => {
            $(impl TsType for $ty {
                fn ts() -> String {
                    $ts.to_string()
                }
            })*
        };
    }
    ts_primitive!("number": u32, u64, usize, i64, f64);
    ts_primitive!("boolean": bool);
    ts_primitive!("string": String, &'static str);

    impl<T: TsType> TsType for Option<T> {
        fn ts() -> String {
            format!("{} | null", T::ts())
        }
    }

    impl<T: TsType> TsType for Vec<T> {
        fn ts() -> String {
            format!("readonly {}[]", T::ts())
        }
    }

    /// The TypeScript type of a field: the override if given, else its Rust type's.
    pub fn ts_of<T: TsType>(overridden: Option<&str>) -> String {
        overridden.map_or_else(T::ts, str::to_string)
    }

    pub trait Interface {
        fn interface() -> InterfaceDecl;
    }

    pub struct InterfaceDecl {
        pub name: &'static str,
        pub docs: Vec<&'static str>,
        pub fields: Vec<FieldDecl>,
    }

    pub struct FieldDecl {
        pub name: String,
        pub ts: String,
        pub docs: Vec<&'static str>,
    }

    /// `snake_case` → `camelCase`, as `#[serde(rename_all = "camelCase")]` does.
    pub fn camel_case(snake: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    fn doc_comment(docs: &[&str], indent: &str) -> String {
        let lines: Vec<&str> = docs.iter().map(|d| d.trim()).collect();
        match lines.as_slice() {
            [] => String::new(),
            [one] => format!("{}/** {} */\n", indent, one),
            many => {
                let mut out = format!("{}/**\n", indent);
                for line in many {
                    out += &format!("{} * {}\n", indent, line);
                }
                out + &format!("{} */\n", indent)
            }
        }
    }

    /// An interface declaration as TypeScript.
    pub fn render(decl: InterfaceDecl) -> String {
        let mut out = doc_comment(&decl.docs, "");
        out += &format!("export interface {} {{\n", decl.name);
        for field in decl.fields {
            out += &doc_comment(&field.docs, "  ");
            out += &format!("  readonly {}: {};\n", field.name, field.ts);
        }
        out + "}\n"
    }

    /// A string-union type alias as TypeScript.
    pub fn union(name: &str, doc: &str, values: &[&str]) -> String {
        let quoted: Vec<String> = values.iter().map(|v| format!("'{}'", v)).collect();
        format!(
            "/** {} */\nexport type {} = {};\n",
            doc,
            name,
            quoted.join(" | ")
        )
    }
}
