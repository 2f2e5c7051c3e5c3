-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `items`;
CREATE TABLE `items` (`id` int NOT NU