//! Stand-in values for the columns a seed row leaves out, so that the row can be read at all.
//!
//! SeaORM reads a row object into the entity's `Model` before it becomes an `ActiveModel`, and a
//! `Model` has every field. A column the row leaves out (a nullable one, or one the database
//! fills in with its default) still needs some value of the field's type for that step; the
//! seed then marks it `NotSet`, so the INSERT leaves the column to the database and the stand-in
//! is never written. SeaORM's own stand-ins do not read back for timestamps, dates, enums and
//! byte strings (a `NOT NULL DEFAULT now()` column left out of a seed file failed with "input
//! contains invalid characters"), hence these, chosen from the column's type.
//!
//! Some types have more than one JSON form (an enum's variant is its database label or its Rust
//! name; a timestamp column may be read into a type with or without an offset): a type gives a
//! list of candidates, and [`combinations`] tries them in order.

use sea_orm::sea_query::ColumnType;
use serde_json::{Value, json};

/// Tries at most this many combinations for one row shape before giving up.
pub(crate) const MAX_TRIES: usize = 256;

/// Candidates, most likely first, for a left-out column of this type.
pub(crate) fn candidates(nullable: bool, column_type: &ColumnType) -> Vec<Value> {
    if nullable {
        return vec![Value::Null];
    }
    match column_type {
        ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => vec![json!("")],
        ColumnType::TinyInteger
        | ColumnType::SmallInteger
        | ColumnType::Integer
        | ColumnType::BigInteger
        | ColumnType::TinyUnsigned
        | ColumnType::SmallUnsigned
        | ColumnType::Unsigned
        | ColumnType::BigUnsigned
        | ColumnType::Year => vec![json!(0)],
        ColumnType::Float | ColumnType::Double => vec![json!(0.0)],
        ColumnType::Decimal(_) | ColumnType::Money(_) => vec![json!("0"), json!(0)],
        ColumnType::Boolean => vec![json!(false)],
        ColumnType::DateTime | ColumnType::Timestamp => {
            vec![json!("1970-01-01T00:00:00"), json!("1970-01-01T00:00:00Z")]
        }
        ColumnType::TimestampWithTimeZone => {
            vec![json!("1970-01-01T00:00:00Z"), json!("1970-01-01T00:00:00")]
        }
        ColumnType::Date => vec![json!("1970-01-01")],
        ColumnType::Time => vec![json!("00:00:00")],
        ColumnType::Uuid => vec![json!("00000000-0000-0000-0000-000000000000")],
        ColumnType::Json | ColumnType::JsonBinary => vec![Value::Null, json!({}), json!([])],
        ColumnType::Enum { variants, .. } => match variants.first() {
            Some(label) => {
                let label = label.to_string();
                let rust = upper_camel(&label);
                if rust == label {
                    vec![json!(label)]
                } else {
                    vec![json!(label), json!(rust)]
                }
            }
            None => Vec::new(),
        },
        ColumnType::Blob
        | ColumnType::Binary(_)
        | ColumnType::VarBinary(_)
        | ColumnType::Bit(_)
        | ColumnType::VarBit(_)
        | ColumnType::Vector(_)
        | ColumnType::Array(_) => vec![json!([])],
        // Custom types, intervals, network types: whatever a plain field could be read from.
        _ => vec![
            json!(""),
            json!(0),
            json!(false),
            json!([]),
            json!({}),
            Value::Null,
        ],
    }
}

/// `past_due` → `PastDue`: the variant name a code generator gives a database label.
fn upper_camel(label: &str) -> String {
    label
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Every choice of one candidate per list, the first candidates first, at most `cap` of them;
/// nothing when a list is empty.
pub(crate) fn combinations(lists: &[Vec<Value>], cap: usize) -> Vec<Vec<&Value>> {
    if lists.iter().any(Vec::is_empty) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut index = vec![0; lists.len()];
    while out.len() < cap {
        out.push(index.iter().zip(lists).map(|(&i, l)| &l[i]).collect());
        // Odometer, the last list turning fastest.
        let mut position = lists.len();
        loop {
            if position == 0 {
                return out;
            }
            position -= 1;
            index[position] += 1;
            if index[position] < lists[position].len() {
                break;
            }
            index[position] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, IntoIden};

    #[test]
    fn nullable_columns_stand_in_as_null_whatever_the_type() {
        assert_eq!(candidates(true, &ColumnType::Integer), [Value::Null]);
        assert_eq!(candidates(true, &ColumnType::Timestamp), [Value::Null]);
    }

    #[test]
    fn timestamps_dates_and_uuids_get_forms_their_types_read() {
        assert_eq!(
            candidates(false, &ColumnType::Timestamp)[0],
            json!("1970-01-01T00:00:00")
        );
        assert_eq!(
            candidates(false, &ColumnType::TimestampWithTimeZone)[0],
            json!("1970-01-01T00:00:00Z")
        );
        assert_eq!(candidates(false, &ColumnType::Date), [json!("1970-01-01")]);
        assert_eq!(
            candidates(false, &ColumnType::Uuid),
            [json!("00000000-0000-0000-0000-000000000000")]
        );
        assert_eq!(candidates(false, &ColumnType::Boolean), [json!(false)]);
        assert_eq!(candidates(false, &ColumnType::BigInteger), [json!(0)]);
        assert_eq!(candidates(false, &ColumnType::Vector(Some(3))), [json!([])]);
    }

    #[test]
    fn an_enum_offers_its_first_label_and_that_label_as_a_rust_variant_name() {
        let status = ColumnType::Enum {
            name: Alias::new("subscription_status").into_iden(),
            variants: vec![
                Alias::new("past_due").into_iden(),
                Alias::new("active").into_iden(),
            ],
        };
        assert_eq!(
            candidates(false, &status),
            [json!("past_due"), json!("PastDue")]
        );
        let one_word = ColumnType::Enum {
            name: Alias::new("e").into_iden(),
            variants: vec![Alias::new("Ready").into_iden()],
        };
        assert_eq!(candidates(false, &one_word), [json!("Ready")]);
        let empty = ColumnType::Enum {
            name: Alias::new("e").into_iden(),
            variants: vec![],
        };
        assert!(candidates(false, &empty).is_empty());
        assert_eq!(upper_camel("in-review 2"), "InReview2");
    }

    #[test]
    fn combinations_go_first_candidates_first_and_stop_at_the_cap() {
        let lists = vec![
            vec![json!(1), json!(2)],
            vec![json!("a")],
            vec![json!(true), json!(false)],
        ];
        let all = combinations(&lists, 100);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0], [&json!(1), &json!("a"), &json!(true)]);
        assert_eq!(all[1], [&json!(1), &json!("a"), &json!(false)]);
        assert_eq!(all[3], [&json!(2), &json!("a"), &json!(false)]);
        assert_eq!(combinations(&lists, 3).len(), 3);
        // No list: the one empty choice (a row that leaves nothing out).
        assert_eq!(combinations(&[], 10), vec![Vec::<&Value>::new()]);
        // A type without a stand-in: no choice at all.
        assert!(combinations(&[vec![json!(1)], vec![]], 10).is_empty());
    }
}
