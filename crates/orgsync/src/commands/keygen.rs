//! `orgsync keygen`: generate the key pair of an Okta API Services app.
//!
//! Prints the public JWK to paste into the app (General > Public Keys >
//! Add key, then "Paste your own key") and the key id for `keyId`, and
//! writes the private key as PKCS#8 PEM to `--out` (a new file that only
//! its owner can read) or, with a warning, to stdout.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use orgsync_doctor::keygen::{generate_key, GeneratedKey, KeyAlgorithm};
use serde_json::json;

use crate::cli::OutputFormat;
use crate::exit;

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key type: `rs256` (RSA, 3072 bits) or `es256` (EC P-256).
    #[arg(long, value_enum, default_value_t = Algorithm::Rs256)]
    pub algorithm: Algorithm,

    /// Key id for the JWK's `kid` and the config's `keyId`
    /// [default: the public key's RFC 7638 thumbprint].
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,

    /// Write the private key to this new file, readable only by its owner,
    /// instead of stdout. An existing file is not overwritten.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Output format: instructions and the JWK, or one JSON object.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    Rs256,
    Es256,
}

pub async fn run(args: KeygenArgs) -> u8 {
    let algorithm = match args.algorithm {
        Algorithm::Rs256 => KeyAlgorithm::Rs256,
        Algorithm::Es256 => KeyAlgorithm::Es256,
    };
    // Generating an RSA key is CPU-bound and its duration varies with the
    // primes drawn (0.2 to 0.4 s for `orgsync keygen` in a debug build on a 2-core VM), so it runs off the async
    // threads.
    let key_id = args.key_id.clone();
    let generated =
        tokio::task::spawn_blocking(move || generate_key(algorithm, key_id.as_deref())).await;
    let key = match generated {
        Ok(Ok(key)) => key,
        Ok(Err(error @ orgsync_doctor::keygen::KeygenError::InvalidKeyId { .. })) => {
            eprintln!("error: {error}");
            return exit::CONFIG;
        }
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            return exit::FAILURE;
        }
        Err(error) => {
            eprintln!("error: key generation stopped: {error}");
            return exit::FAILURE;
        }
    };

    if let Some(path) = &args.out {
        if let Err(code) = write_private_key(path, &key) {
            return code;
        }
    } else {
        eprintln!(
            "warning: the private key is printed to stdout; anyone who sees this output can \
             sign in as the Okta app. Use --out FILE to write it to a file only you can read."
        );
    }
    match args.format {
        OutputFormat::Text => print_text(&key, args.out.as_deref()),
        OutputFormat::Json => print_json(&key, args.out.as_deref()),
    }
    exit::SUCCESS
}

/// Creates `path` with mode 0600 and writes the PEM. Returns the exit code
/// on failure.
fn write_private_key(path: &Path, key: &GeneratedKey) -> Result<(), u8> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    // NOTE: on other systems the file gets the default permissions.
    let written = options
        .open(path)
        .and_then(|mut file| file.write_all(key.private_key_pem.as_bytes()));
    match written {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} already exists; keygen does not overwrite a key, so pass another \
                 --out file or remove this one",
                path.display()
            );
            Err(exit::CONFIG)
        }
        Err(error) => {
            eprintln!(
                "error: writing the private key to {} failed: {error}",
                path.display()
            );
            Err(exit::FAILURE)
        }
    }
}

fn print_text(key: &GeneratedKey, out: Option<&Path>) {
    let jwk = serde_json::to_string_pretty(&key.public_jwk).unwrap_or_default();
    println!(
        "Public key (JWK). In the Okta Admin Console, open the API Services app, go to \
         General > Public Keys > Add key, and paste:\n\n{jwk}\n"
    );
    println!("Key id: {}\n", key.key_id);
    println!("Provider settings for orgsync's config:");
    println!("  clientId: <the app's Client ID>");
    println!("  keyId: {}", key.key_id);
    match out {
        Some(path) => {
            println!("  privateKey: {{ $file: {} }}", path.display());
            println!(
                "\nThe private key ({}) is in {}.",
                key.algorithm.as_str(),
                path.display()
            );
        }
        None => {
            println!("  privateKey: ${{OKTA_PRIVATE_KEY}}");
            println!(
                "\nPrivate key ({}, PKCS#8 PEM); keep it secret and pass it in OKTA_PRIVATE_KEY:\n",
                key.algorithm.as_str()
            );
            print!("{}", key.private_key_pem.as_str());
        }
    }
}

fn print_json(key: &GeneratedKey, out: Option<&Path>) {
    let mut output = json!({
        "algorithm": key.algorithm.as_str(),
        "keyId": key.key_id,
        "publicJwk": key.public_jwk,
    });
    match out {
        Some(path) => output["privateKeyFile"] = json!(path.display().to_string()),
        None => output["privateKeyPem"] = json!(key.private_key_pem.as_str()),
    }
    match serde_json::to_string_pretty(&output) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: encoding the key as JSON failed: {error}"),
    }
}
