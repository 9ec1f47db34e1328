/// Random secrets for link tokens. Implementations must draw from the operating system's
/// cryptographic generator (`getrandom`, through `rand::rngs::OsRng` say): a token's only
/// protection is that it cannot be guessed. Drawing cannot fail on a working system, so this
/// port has no error type.
pub trait SecretSource: Send + Sync {
    /// 32 fresh random bytes.
    fn secret_bytes(&self) -> [u8; 32];
}
