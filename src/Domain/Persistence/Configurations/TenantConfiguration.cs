using System.Text.Json;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class TenantConfiguration : IEntityTypeConfiguration<Tenant>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void Configure(EntityTypeBuilder<Tenant> builder)
    {
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Name).HasMaxLength(200);
        builder.Property(t => t.AuditHeadHash).HasMaxLength(32);

        // Settings evolve often and are read as a whole: one jsonb column.
        builder.Property(t => t.Settings)
            .HasColumnType("jsonb")
            .HasConversion(
                s => JsonSerializer.Serialize(s, Json),
                s => JsonSerializer.Deserialize<TenantSettings>(s, Json) ?? TenantSettings.Default,
                new ValueComparer<TenantSettings>((a, b) => Equals(a, b), s => s.GetHashCode(), s => s));
    }
}
