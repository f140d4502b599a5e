package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Helper modes: TestMain runs one of them instead of the tests when helperModeEnv is set,
// so that a test can run this binary as another process that uses the credential file.
const (
	helperModeEnv  = "POE_AUTH_TEST_HELPER"
	helperPathEnv  = "POE_AUTH_TEST_PATH"  // credential file
	helperKeyEnv   = "POE_AUTH_TEST_KEY"   // signer: the key to sign in with
	helperStartEnv = "POE_AUTH_TEST_START" // saver: the number of the first key

	helperSigner = "signer"
	helperSaver  = "saver"
)

// Prefixes of the keys that the helpers write, so that a test can tell whose key a file holds.
const (
	signerKeyPrefix   = "sk-poe-SIGNER"
	numberedKeyPrefix = "sk-poe-SAVED"
)

// runHelper runs a helper mode and returns the process's exit status.
func runHelper(mode string) int {
	path := os.Getenv(helperPathEnv)
	var err error
	switch mode {
	case helperSigner:
		err = runSigner(path, os.Getenv(helperKeyEnv))
	case helperSaver:
		var start int
		start, err = strconv.Atoi(os.Getenv(helperStartEnv))
		if err == nil {
			err = runSaver(path, start)
		}
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// runSigner plays a sidecar: for each line on stdin it signs in with key and signs out
// again through a Service, and prints "ok" or "fail: <reason>".
func runSigner(path, key string) error {
	store := NewStore(path)
	svc, err := NewService(Config{
		Store:    store,
		CheckKey: func(context.Context, string) error { return nil },
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Start(context.Background()); err != nil {
		return err
	}

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		answer := "ok"
		if err := signInAndOut(svc, store, key); err != nil {
			answer = "fail: " + err.Error()
		}
		if _, err := fmt.Println(answer); err != nil {
			return err
		}
	}
	return in.Err()
}

func signInAndOut(svc *Service, store *Store, key string) error {
	att := svc.StartAPIKey()
	if _, err := svc.Complete(context.Background(), CompleteParams{AttemptID: att.ID, APIKey: key}); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if err := checkSignerFile(store); err != nil {
		return fmt.Errorf("after sign-in: %w", err)
	}
	if _, err := svc.SignOut(); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	if err := checkSignerFile(store); err != nil {
		return fmt.Errorf("after sign-out: %w", err)
	}
	return nil
}

// checkSignerFile checks that the credential file is absent or holds a signer's key.
func checkSignerFile(store *Store) error {
	cred, err := store.Load()
	if err != nil {
		return err
	}
	if cred != nil && !strings.HasPrefix(cred.APIKey, signerKeyPrefix) {
		return errors.New("the file holds a key that no signer wrote")
	}
	return nil
}

// runSaver saves numbered keys from start on and prints "saved <n>" after each Save,
// until it is killed.
func runSaver(path string, start int) error {
	store := NewStore(path)
	for n := start; ; n++ {
		cred := Credential{APIKey: numberedKey(n), Method: MethodAPIKey, CreatedAt: time.Now()}
		if err := store.Save(cred); err != nil {
			return err
		}
		if _, err := fmt.Printf("saved %d\n", n); err != nil {
			return err
		}
	}
}

// numberedKey returns the key that runSaver saves as number n.
func numberedKey(n int) string {
	return fmt.Sprintf("%s%030d", numberedKeyPrefix, n)
}

// keyNumber returns the number of a key from numberedKey.
func keyNumber(key string) (int, error) {
	digits, ok := strings.CutPrefix(key, numberedKeyPrefix)
	if !ok {
		return 0, errors.New("the key is not a numbered key")
	}
	return strconv.Atoi(digits)
}
