//! The migration checksum, identical to drizzle-orm's.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
///
/// drizzle-orm stores `sha256(file text)` in `__drizzle_migrations.hash`, over the file exactly as
/// stored: markers, comments, a BOM and CRLF line endings included. For valid UTF-8 (the only
/// files app-db accepts) hashing the raw bytes gives the same digest, so this is the hash to
/// compare with that column.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        // Writing into a String cannot fail; a lookup table keeps it allocation-free.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::sha256_hex;

    #[test]
    fn matches_the_fips_180_2_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hashes_raw_bytes_so_line_endings_matter() {
        assert_ne!(sha256_hex(b"SELECT 1;\n"), sha256_hex(b"SELECT 1;\r\n"));
    }

    #[test]
    fn matches_a_file_hashed_by_drizzle_orm() {
        // 0002_x.sql of tests/fixtures/journal/drizzle-kit, hash as printed by drizzle-orm 0.45.4's
        // readMigrationFiles (tests/fixtures/journal/drizzle-orm-read.json).
        let sql = "-- Custom SQL migration file, put your code below! --\n\
                   CREATE UNIQUE INDEX \"members_org_email_uq\" ON \"members\" (\"org_id\", lower(\"email\"));\n\
                   --> statement-breakpoint\n\
                   COMMENT ON TABLE \"members\" IS 'people in an organization';\n";
        assert_eq!(
            sha256_hex(sql.as_bytes()),
            "8f65c7de9693624b70828225f1af42bc5e257e5d1bcdf752c9abbf19532f208b"
        );
    }
}
