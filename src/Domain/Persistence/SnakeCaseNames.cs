using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace FeedbackHub.Domain.Persistence;

/// <summary>snake_case for every table, column, key, foreign key and index (chosen before the first migration).</summary>
internal static class SnakeCaseNames
{
    public static void Apply(ModelBuilder modelBuilder)
    {
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            // Idempotent: a name that is already snake_case stays as it is.
            if (entity.GetTableName() is { } table)
                entity.SetTableName(ToSnakeCase(table));
            foreach (var property in entity.GetProperties())
                property.SetColumnName(ToSnakeCase(property.GetColumnName()));

            // A table-per-type hierarchy (outbound and its channels' tables) shares one key object; a name set on it would
            // name every table's primary key alike, so EF names those per table (PK_outbound, PK_deliveries, ...; the
            // links FK_deliveries_outbound_id and so on are EF's too).
            if (entity.GetMappingStrategy() != RelationalAnnotationNames.TptMappingStrategy)
            {
                foreach (var key in entity.GetDeclaredKeys())
                    key.SetName(ToSnakeCase(key.GetName() ?? string.Empty));
            }
            foreach (var fk in entity.GetForeignKeys())
                fk.SetConstraintName(ToSnakeCase(fk.GetConstraintName() ?? string.Empty));
            foreach (var index in entity.GetIndexes())
                index.SetDatabaseName(ToSnakeCase(index.GetDatabaseName() ?? string.Empty));
        }
    }

    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                    sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
