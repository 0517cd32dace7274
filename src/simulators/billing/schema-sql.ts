// The main site's billing tables (Prisma layout, camelCase columns) in each SQL dialect.
// The demo, the benchmark and the tests build their billing databases from this, so all
// three exercise the built-in query against the same layout.

export type Dialect = 'mysql' | 'postgres' | 'sqlite';

export const SCHEMA_SQL: Record<Dialect, string> = {
  mysql: `-- The main site's billing tables as Prisma creates them on MySQL/MariaDB (camelCase columns).
-- Only the columns the sync reads matter; the others are here so the layout is realistic.
CREATE TABLE \`user\` (
  \`id\` INTEGER NOT NULL AUTO_INCREMENT,
  \`email\` VARCHAR(191) NOT NULL,
  \`username\` VARCHAR(191) NOT NULL,
  \`password\` VARCHAR(191) NOT NULL,
  \`balance\` DOUBLE NOT NULL DEFAULT 0,
  \`operator\` INTEGER NOT NULL DEFAULT 0,
  \`createdAt\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE INDEX \`user_email_key\`(\`email\`),
  PRIMARY KEY (\`id\`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE \`tariff\` (
  \`id\` INTEGER NOT NULL AUTO_INCREMENT,
  \`name\` VARCHAR(191) NOT NULL,
  \`price\` DOUBLE NOT NULL,
  \`description\` VARCHAR(191) NULL,
  \`createdAt\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (\`id\`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE \`operatingsystem\` (
  \`id\` INTEGER NOT NULL AUTO_INCREMENT,
  \`name\` VARCHAR(191) NOT NULL,
  \`type\` VARCHAR(191) NOT NULL,
  \`template\` VARCHAR(191) NULL,
  PRIMARY KEY (\`id\`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE \`server\` (
  \`id\` INTEGER NOT NULL AUTO_INCREMENT,
  \`userId\` INTEGER NOT NULL,
  \`tariffId\` INTEGER NOT NULL,
  \`osId\` INTEGER NOT NULL,
  \`status\` VARCHAR(191) NOT NULL DEFAULT 'creating',
  \`proxmoxId\` INTEGER NULL,
  \`proxmoxNode\` VARCHAR(191) NULL,
  \`ipAddress\` VARCHAR(191) NULL,
  \`rootPassword\` VARCHAR(191) NULL,
  \`createdAt\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  \`updatedAt\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  INDEX \`server_userId_idx\`(\`userId\`),
  PRIMARY KEY (\`id\`),
  CONSTRAINT \`server_userId_fkey\` FOREIGN KEY (\`userId\`) REFERENCES \`user\`(\`id\`) ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT \`server_tariffId_fkey\` FOREIGN KEY (\`tariffId\`) REFERENCES \`tariff\`(\`id\`) ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT \`server_osId_fkey\` FOREIGN KEY (\`osId\`) REFERENCES \`operatingsystem\`(\`id\`) ON DELETE RESTRICT ON UPDATE CASCADE
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE \`payment\` (
  \`id\` INTEGER NOT NULL AUTO_INCREMENT,
  \`userId\` INTEGER NOT NULL,
  \`amount\` DOUBLE NOT NULL,
  \`status\` VARCHAR(191) NOT NULL DEFAULT 'pending',
  \`externalId\` VARCHAR(191) NULL,
  \`createdAt\` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (\`id\`),
  CONSTRAINT \`payment_userId_fkey\` FOREIGN KEY (\`userId\`) REFERENCES \`user\`(\`id\`) ON DELETE RESTRICT ON UPDATE CASCADE
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
`,
  postgres: `-- The main site's billing tables in the layout Prisma gives them on PostgreSQL (models mapped
-- to lowercase tables, camelCase columns, so the columns need double quotes).
CREATE TABLE "user" (
  "id" SERIAL NOT NULL,
  "email" TEXT NOT NULL,
  "username" TEXT NOT NULL,
  "password" TEXT NOT NULL,
  "balance" DOUBLE PRECISION NOT NULL DEFAULT 0,
  "operator" INTEGER NOT NULL DEFAULT 0,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "user_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

CREATE TABLE "tariff" (
  "id" SERIAL NOT NULL,
  "name" TEXT NOT NULL,
  "price" DOUBLE PRECISION NOT NULL,
  "description" TEXT,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "tariff_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "operatingsystem" (
  "id" SERIAL NOT NULL,
  "name" TEXT NOT NULL,
  "type" TEXT NOT NULL,
  "template" TEXT,
  CONSTRAINT "operatingsystem_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "server" (
  "id" SERIAL NOT NULL,
  "userId" INTEGER NOT NULL,
  "tariffId" INTEGER NOT NULL,
  "osId" INTEGER NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'creating',
  "proxmoxId" INTEGER,
  "proxmoxNode" TEXT,
  "ipAddress" TEXT,
  "rootPassword" TEXT,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "server_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "server_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "server_tariffId_fkey" FOREIGN KEY ("tariffId") REFERENCES "tariff"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "server_osId_fkey" FOREIGN KEY ("osId") REFERENCES "operatingsystem"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "server_userId_idx" ON "server"("userId");

CREATE TABLE "payment" (
  "id" SERIAL NOT NULL,
  "userId" INTEGER NOT NULL,
  "amount" DOUBLE PRECISION NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'pending',
  "externalId" TEXT,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "payment_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "payment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
`,
  sqlite: `-- The main site's billing tables in the layout Prisma gives them on SQLite (camelCase columns).
CREATE TABLE "user" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "email" TEXT NOT NULL,
  "username" TEXT NOT NULL,
  "password" TEXT NOT NULL,
  "balance" REAL NOT NULL DEFAULT 0,
  "operator" INTEGER NOT NULL DEFAULT 0,
  "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

CREATE TABLE "tariff" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "name" TEXT NOT NULL,
  "price" REAL NOT NULL,
  "description" TEXT,
  "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE "operatingsystem" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "name" TEXT NOT NULL,
  "type" TEXT NOT NULL,
  "template" TEXT
);

CREATE TABLE "server" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "userId" INTEGER NOT NULL,
  "tariffId" INTEGER NOT NULL,
  "osId" INTEGER NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'creating',
  "proxmoxId" INTEGER,
  "proxmoxNode" TEXT,
  "ipAddress" TEXT,
  "rootPassword" TEXT,
  "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "server_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "server_tariffId_fkey" FOREIGN KEY ("tariffId") REFERENCES "tariff" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "server_osId_fkey" FOREIGN KEY ("osId") REFERENCES "operatingsystem" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "server_userId_idx" ON "server"("userId");

CREATE TABLE "payment" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "userId" INTEGER NOT NULL,
  "amount" REAL NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'pending',
  "externalId" TEXT,
  "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "payment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
`,
};
