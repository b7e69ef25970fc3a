/** The connected account with this id, or the user-facing `not-found` error both engine services give. */
import { fail } from '../../errors';
import type { AccountId, AccountView, Vault } from '../../vault';

export async function requireAccount(vault: Vault, accountId: string): Promise<AccountView> {
  const acc = await vault.getAccount(accountId as AccountId);
  if (!acc) {
    throw fail(
      'not-found',
      'This account is not connected in Cipherfold. It may have been removed. Connect it again.',
    );
  }
  return acc;
}
