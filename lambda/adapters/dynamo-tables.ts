/**
 * Creating a table for the local runtime and the tests, as the stack defines it: an existing one
 * is fine (a restart on the same data folder), anything else is an error.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';

/** True when the table was created now, false when it already existed. */
export async function createTableIfAbsent(
  client: DynamoDBClient,
  input: CreateTableCommandInput,
): Promise<boolean> {
  try {
    await client.send(new CreateTableCommand(input));
    return true;
  } catch (error) {
    if (
      error instanceof ResourceInUseException ||
      (error as { name?: unknown } | null)?.name === 'ResourceInUseException'
    ) {
      return false;
    }
    throw error;
  }
}
